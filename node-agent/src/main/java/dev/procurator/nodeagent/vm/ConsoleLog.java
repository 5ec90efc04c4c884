package dev.procurator.nodeagent.vm;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

/**
 * A VM's serial console as the hypervisor writes it (in append mode) to {@code current}, with
 * {@code previous} holding the previous boot or what the size cap cut off. Thread-safe: every
 * method reads the files afresh.
 */
public final class ConsoleLog {
  /** What the example guest, and any guest that wants to say so, prints when it is ready. */
  public static final String READY_LINE = "PROCURATOR-READY";
  /** What Linux prints as the last thing before a clean power-off. */
  public static final String POWER_DOWN_LINE = "reboot: Power down";

  private final Path current;
  private final Path previous;

  public ConsoleLog(Path current, Path previous) {
    this.current = current;
    this.previous = previous;
  }

  /** Whether the current boot has printed {@code line} (since the last cut by the size cap). */
  public boolean contains(String line) {
    return read(current).contains(line);
  }

  /** The last {@code n} lines of the console (previous file first), for messages and {@code --tail}. */
  public List<String> lastLines(int n) {
    List<String> lines = new ArrayList<>();
    for (String text : List.of(read(previous), read(current))) {
      if (text.isEmpty()) {
        continue;
      }
      // a file that ends in a newline has no line after it; one that does not ends mid-line
      for (String l : (text.endsWith("\n") ? text.substring(0, text.length() - 1) : text).split("\r?\n", -1)) {
        lines.add(l.replace("\r", ""));
      }
    }
    return List.copyOf(lines.subList(Math.max(0, lines.size() - n), lines.size()));
  }

  /**
   * Keeps the console under {@code cap} bytes per file: when the current file is larger, it becomes the
   * previous one and the current starts empty (the hypervisor appends, so it continues at offset 0).
   */
  public boolean capAt(long cap) throws IOException {
    if (!Files.exists(current) || Files.size(current) <= cap) {
      return false;
    }
    Files.copy(current, previous, StandardCopyOption.REPLACE_EXISTING);
    try (RandomAccessFile f = new RandomAccessFile(current.toFile(), "rw")) {
      f.setLength(0);
    }
    return true;
  }

  public Path current() {
    return current;
  }

  public Path previous() {
    return previous;
  }

  private static String read(Path p) {
    try {
      return Files.readString(p, StandardCharsets.ISO_8859_1);
    } catch (NoSuchFileException e) {
      return "";
    } catch (IOException e) {
      return "";
    }
  }
}
