package dev.procurator.api.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ObjectKeyTest {
  @Test
  void readsAndWritesKubectlsForm() {
    assertThat(ObjectKey.parse("default/web")).isEqualTo(ObjectKey.of("default", "web"));
    assertThat(ObjectKey.parse("node-a")).isEqualTo(ObjectKey.cluster("node-a"));
    assertThat(ObjectKey.of("default", "web")).hasToString("default/web");
    assertThat(ObjectKey.cluster("node-a")).hasToString("node-a");
    assertThat(ObjectKey.cluster("node-a").namespaced()).isFalse();
  }

  @Test
  void refusesWhatIsNoKey() {
    assertThatThrownBy(() -> ObjectKey.parse("a/b/c")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> ObjectKey.parse("a/")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> ObjectKey.parse("/b")).isInstanceOf(IllegalArgumentException.class);
  }
}
