package dev.procurator.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * No class under any module's {@code src/main/java} is longer than {@value #MAX_LINES} lines: a
 * class that long holds several strategies and wants splitting along its seams.
 */
class SourceFileSizeTest {
  static final int MAX_LINES = 600;
  /** The repository root: tests run in the module's directory. */
  private static final Path ROOT = Path.of("..");

  @Test
  void noMainClassIsLongerThanTheLimit() throws IOException {
    Map<String, Integer> sizes = mainSourceSizes();
    assertThat(sizes).as("no main sources found under %s", ROOT.toAbsolutePath().normalize()).isNotEmpty();
    List<String> tooLong = new ArrayList<>();
    sizes.forEach((file, lines) -> {
      if (lines > MAX_LINES) {
        tooLong.add(file + " (" + lines + " lines)");
      }
    });
    assertThat(tooLong).as("classes longer than %d lines: split them along their seams", MAX_LINES).isEmpty();
  }

  /** Lines of every {@code .java} file under each module's {@code src/main/java}, by path from the root. */
  private static Map<String, Integer> mainSourceSizes() throws IOException {
    Map<String, Integer> sizes = new TreeMap<>();
    try (Stream<Path> modules = Files.list(ROOT)) {
      for (Path module : modules.filter(m -> Files.isDirectory(m.resolve("src/main/java"))).toList()) {
        try (Stream<Path> files = Files.walk(module.resolve("src/main/java"))) {
          for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
            String name = ROOT.relativize(f).toString().replace('\\', '/');
            sizes.put(name, Files.readAllLines(f, StandardCharsets.UTF_8).size());
          }
        }
      }
    }
    return sizes;
  }
}
