package dev.procurator.nodeagent.registration;

import dev.procurator.api.v1alpha1.NodeStatus;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * The boot files in a node's images directory, for its status: each under its path relative to the
 * directory (as a VM's {@code boot.kernel} gives it) and its absolute path. At most {@link #LIMIT}
 * files, {@link #DEPTH} folders deep, so a large directory cannot bloat the Node.
 */
public final class BootImages {
  static final int LIMIT = 500;
  static final int DEPTH = 4;

  private BootImages() {}

  public static List<NodeStatus.Image> scan(Path imagesDir) {
    Path root = imagesDir.toAbsolutePath().normalize();
    List<NodeStatus.Image> out = new ArrayList<>();
    try (Stream<Path> files = Files.walk(root, DEPTH)) {
      for (Path f : files.filter(Files::isRegularFile).sorted(Comparator.naturalOrder()).limit(LIMIT).toList()) {
        out.add(new NodeStatus.Image(List.of(root.relativize(f).toString(), f.toString()), size(f)));
      }
    } catch (NoSuchFileException e) {
      return List.of();
    } catch (IOException | UncheckedIOException e) {
      return out; // what could be read
    }
    return out;
  }

  private static Long size(Path f) {
    try {
      return Files.size(f);
    } catch (IOException e) {
      return null;
    }
  }
}
