package dev.procurator.apiserver.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

class LabelSelectorTest {
  private static ObjectNode labelled(String json) throws Exception {
    return (ObjectNode) new ObjectMapper().readTree("{\"metadata\":{\"labels\":" + json + "}}");
  }

  @Test
  void equalityAndSetRequirements() throws Exception {
    ObjectNode web = labelled("{\"app\":\"web\",\"tier\":\"front\"}");
    ObjectNode db = labelled("{\"app\":\"db\"}");
    assertThat(LabelSelector.parse("app=web").test(web)).isTrue();
    assertThat(LabelSelector.parse("app==web,tier=front").test(web)).isTrue();
    assertThat(LabelSelector.parse("app!=web").test(db)).isTrue();
    assertThat(LabelSelector.parse("app in (web, cache)").test(web)).isTrue();
    assertThat(LabelSelector.parse("app notin (web,cache)").test(db)).isTrue();
    assertThat(LabelSelector.parse("tier").test(db)).isFalse();
    assertThat(LabelSelector.parse("!tier").test(db)).isTrue();
    assertThat(LabelSelector.parse("").test(db)).isTrue();
  }

  @Test
  void malformedSelectorsAreBadRequests() {
    assertThatThrownBy(() -> LabelSelector.parse("app in web")).isInstanceOfSatisfying(ApiException.class,
        e -> assertThat(e.code()).isEqualTo(400));
    assertThatThrownBy(() -> LabelSelector.parse("a=b,,c")).isInstanceOf(ApiException.class);
    assertThatThrownBy(() -> LabelSelector.parse("bad key=x")).isInstanceOf(ApiException.class);
  }
}
