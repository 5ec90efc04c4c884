package dev.procurator.api.v1alpha1;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.HasMetadata;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** crds/ must be exactly what the generator makes from these types: run bin/update-crds after changing them. */
class CrdsUpToDateTest {
  private static final Path CRDS = Path.of("..", "crds");

  @Test
  void everyKindHasItsCrdInTheRepositoryAndItIsCurrent() throws IOException {
    for (Class<? extends HasMetadata> kind : Kinds.ALL) {
      String name = HasMetadata.getPlural(kind) + "." + HasMetadata.getGroup(kind);
      String generated;
      try (InputStream in = kind.getClassLoader().getResourceAsStream("META-INF/fabric8/" + name + "-v1.yml")) {
        assertThat(in).as("generated CRD for %s", name).isNotNull();
        generated = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      }
      Path committed = CRDS.resolve(name + ".yaml");
      assertThat(committed).as("crds/%s.yaml is missing: run bin/update-crds", name).exists();
      assertThat(Files.readString(committed)).as("crds/%s.yaml is out of date: run bin/update-crds", name).isEqualTo(generated);
    }
  }

  @Test
  void crdsHoldsNothingStale() throws IOException {
    List<String> expected = Kinds.ALL.stream().map(k -> HasMetadata.getPlural(k) + "." + HasMetadata.getGroup(k) + ".yaml").toList();
    try (Stream<Path> files = Files.list(CRDS)) {
      assertThat(files.map(p -> p.getFileName().toString()).toList())
          .as("files in crds/ that no type generates: run bin/update-crds").containsExactlyInAnyOrderElementsOf(expected);
    }
  }
}
