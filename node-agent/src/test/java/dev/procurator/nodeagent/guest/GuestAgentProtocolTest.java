package dev.procurator.nodeagent.guest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class GuestAgentProtocolTest {
  @Test
  void aRequestIsOneLineOfJsonWithItsIdCommandAndWholeSeconds() {
    assertThat(GuestAgentProtocol.request(7, List.of("test", "-f", "/www/healthz"), Duration.ofSeconds(2)))
        .isEqualTo("{\"id\":7,\"exec\":[\"test\",\"-f\",\"/www/healthz\"],\"timeoutSeconds\":2}");
    // what would end the line or the string is escaped; part of a second counts as a second, and at least one
    String odd = GuestAgentProtocol.request(8, List.of("sh", "-c", "echo \"a\nb\" \\ 'c'"), Duration.ofMillis(1500));
    assertThat(odd).doesNotContain("\n").contains("\"echo \\\"a\\nb\\\" \\\\ 'c'\"").endsWith("\"timeoutSeconds\":2}");
    assertThat(GuestAgentProtocol.request(9, List.of("true"), Duration.ZERO)).endsWith("\"timeoutSeconds\":1}");
    assertThatThrownBy(() -> GuestAgentProtocol.request(1, List.of(), Duration.ofSeconds(1))).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void aReplyIsReadAndAnythingElseIsNone() {
    assertThat(GuestAgentProtocol.reply("{\"id\":7,\"exit\":1,\"output\":\"no\\nfile \\\"x\\\" ü\"}"))
        .contains(new GuestAgentProtocol.Reply(7, 1, "no\nfile \"x\" ü"));
    assertThat(GuestAgentProtocol.reply("{\"id\":3,\"exit\":0}")).contains(new GuestAgentProtocol.Reply(3, 0, ""));
    assertThat(GuestAgentProtocol.reply("[    1.50] virtio console noise")).isEmpty();
    assertThat(GuestAgentProtocol.reply("{\"id\":7,\"exit\":1,\"output\":\"cut")).isEmpty();
    assertThat(GuestAgentProtocol.reply("{\"id\":7}")).as("no exit status").isEmpty();
    assertThat(GuestAgentProtocol.reply("{\"exit\":0}")).as("no id").isEmpty();
    assertThat(GuestAgentProtocol.reply("")).isEmpty();
  }
}
