package dev.procurator.apiserver.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class TokenFileTest {
  @Test
  void readsKubernetesTokenFileLines() {
    var users = TokenFile.parse(List.of("# users", "t1,alice,1001,\"devs,ops\"", "", "t2, bob ,1002", "t3,carol,1003,viewers"), "tokens.csv");
    assertThat(users.get("t1")).isEqualTo(new UserInfo("alice", List.of("devs", "ops")));
    assertThat(users.get("t2")).isEqualTo(new UserInfo("bob", List.of()));
    assertThat(users.get("t3").groups()).containsExactly("viewers");
  }

  @Test
  void aBadLineFailsTheFileWithItsNumber() {
    assertThatThrownBy(() -> TokenFile.parse(List.of("t1,alice,1", "t2,bob"), "tokens.csv")).hasMessageContaining("line 2");
    assertThatThrownBy(() -> TokenFile.parse(List.of("t1,alice,1,\"devs"), "tokens.csv")).hasMessageContaining("quote");
    assertThatThrownBy(() -> TokenFile.parse(List.of("t1,alice,1", "t1,bob,2"), "tokens.csv")).hasMessageContaining("twice");
  }

  @Test
  void staticTokensMatchOnlyExactly() {
    var auth = new TokenAuthenticator(TokenFile.parse(List.of("secret-token,alice,1"), "f"));
    assertThat(auth.authenticate("Bearer secret-token")).map(UserInfo::name).contains("alice");
    assertThat(auth.authenticate("Bearer secret-toke")).isEmpty();
    assertThat(auth.authenticate("Basic secret-token")).isEmpty();
    assertThat(auth.authenticate(null)).isEmpty();
  }
}
