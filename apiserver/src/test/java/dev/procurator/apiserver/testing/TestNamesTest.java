package dev.procurator.apiserver.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class TestNamesTest {
  @Test
  void everyNameIsAValidUniqueLabelWhateverThePrefixLength() {
    Set<String> seen = new HashSet<>();
    for (String prefix : new String[] {"a", "ns", "marker", "x".repeat(62), "a-b-" + "c".repeat(55), "0"}) {
      for (int i = 0; i < 2_000; i++) {
        String name = TestNames.unique(prefix);
        assertThat(name).matches(TestNames.DNS_1123_LABEL).hasSizeLessThanOrEqualTo(63);
        assertThat(seen.add(name)).as("unique: %s", name).isTrue();
      }
    }
  }

  @Test
  void namesComeFromARandomRunAndACounterNotFromTheClock() {
    // nanoTime counts from boot: a name built from it changes length with the machine's uptime
    String first = TestNames.unique("t");
    String second = TestNames.unique("t");
    assertThat(first).matches("t-[0-9a-z]{6}[0-9a-z]+");
    assertThat(second.substring(0, 8)).as("the same run part").isEqualTo(first.substring(0, 8));
    long a = Long.parseLong(first.substring(8), 36);
    long b = Long.parseLong(second.substring(8), 36);
    assertThat(b).as("a counter, not a clock").isGreaterThan(a).isLessThan(a + 1_000);
  }

  @Test
  void aPrefixThatIsNoLabelIsRefused() {
    assertThatThrownBy(() -> TestNames.unique("Upper")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("Upper");
    assertThatThrownBy(() -> TestNames.unique("ends-")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> TestNames.unique("")).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void randomValuesAreLowerCaseAlphanumeric() {
    assertThat(TestNames.random(32)).matches("[0-9a-z]{32}");
    assertThat(TestNames.random(32)).isNotEqualTo(TestNames.random(32));
  }
}
