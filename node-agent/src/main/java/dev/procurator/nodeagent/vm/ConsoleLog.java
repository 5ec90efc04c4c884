package dev.procurator.nodeagent.vm;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * A VM's serial console as the hypervisor writes it (in append mode) to {@code current}, with
 * {@code previous} holding the previous boot or what the size cap cut off. Reads only the ends of
 * the files, so a guest that floods its console costs the agent no more memory than a quiet one.
 * Thread-safe: every method reads the files afresh.
 */
public final class ConsoleLog {
  /** What the example guest, and any guest that wants to say so, prints when it is ready. */
  public static final String READY_LINE = "PROCURATOR-READY";
  /** What Linux prints as the last thing before a clean power-off. */
  public static final String POWER_DOWN_LINE = "reboot: Power down";
  /** How much of each file's end {@link #lastLines} reads. */
  static final int TAIL_BYTES = 64 * 1024;

  private final Path current;
  private final Path previous;

  public ConsoleLog(Path current, Path previous) {
    this.current = current;
    this.previous = previous;
  }

  /** The last {@code n} lines of the console (previous file first), for messages and {@code --tail}. */
  public List<String> lastLines(int n) {
    List<String> lines = new ArrayList<>();
    for (String text : List.of(tail(previous), tail(current))) {
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

  /** Whether the current boot ended with the guest powering off (its last lines say so). */
  public boolean poweredOff() {
    return tail(current).contains(POWER_DOWN_LINE);
  }

  /**
   * Keeps the console under {@code cap} bytes per file: when the current file is larger, its last
   * {@code cap} bytes become the previous file and the current starts empty (the hypervisor
   * appends, so it continues at offset 0). Costs at most {@code cap} bytes of copying, however
   * large the file grew.
   */
  public boolean capAt(long cap) throws IOException {
    if (!Files.exists(current) || Files.size(current) <= cap) {
      return false;
    }
    Path tmp = previous.resolveSibling(previous.getFileName() + ".tmp");
    try (FileChannel in = FileChannel.open(current, StandardOpenOption.READ, StandardOpenOption.WRITE);
        FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
      long size = in.size();
      long from = Math.max(0, size - cap);
      for (long done = 0; done < size - from; ) {
        done += in.transferTo(from + done, size - from - done, out);
      }
      in.truncate(0);
    }
    Files.move(tmp, previous, StandardCopyOption.REPLACE_EXISTING);
    return true;
  }

  public Path current() {
    return current;
  }

  public Path previous() {
    return previous;
  }

  /** The last {@link #TAIL_BYTES} of {@code p}, or "" when it does not exist. */
  private static String tail(Path p) {
    try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "r")) {
      long size = f.length();
      long from = Math.max(0, size - TAIL_BYTES);
      byte[] buf = new byte[(int) (size - from)];
      f.seek(from);
      f.readFully(buf);
      String text = new String(buf, StandardCharsets.ISO_8859_1);
      // a cut in the middle of a line leaves a partial first line: drop it
      int nl = text.indexOf('\n');
      return from > 0 && nl >= 0 ? text.substring(nl + 1) : text;
    } catch (IOException e) {
      return "";
    }
  }
}
