package dev.procurator.pctl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What {@code pctl up} leaves on disk is its owner's only, from the first moment: run under
 * strace, every file it creates in its data directory (and the kubeconfig it copies to
 * {@code ~/.procurator}) is created with mode 0600 by the very call that creates it, never
 * written first and restricted afterwards, and the data directory is made 0700. A data directory
 * an older version left open is tightened at the next start.
 */
class FilePermissionsIT {
  @TempDir Path root;

  /** A file or folder made by one system call: when, which, how, with what mode. */
  record Made(double time, Path path, String call, String mode) {}

  private static final Pattern CALL = Pattern.compile(
      "^(\\d+\\.\\d+) (openat|open|creat|mkdirat|mkdir)\\((?:AT_FDCWD, )?\"([^\"]+)\"(?:, ([A-Z_|]+))?, (0\\d+)\\) = \\d+");
  /** The temporary name PrivateFiles writes under before it renames: {@code .NAME.<12 hex>.tmp}. */
  private static final Pattern TEMP = Pattern.compile("\\.(.+)\\.[0-9a-f]{12}\\.tmp");

  /** The first successful call that made each path (a file written under a temporary name counts as its target), by path. */
  private static Map<Path, Made> made(Path traces) throws Exception {
    List<Made> all = new ArrayList<>();
    try (Stream<Path> files = Files.list(traces)) {
      for (Path f : files.toList()) {
        for (String line : Files.readAllLines(f)) {
          Matcher m = CALL.matcher(line);
          if (!m.find()) {
            continue;
          }
          boolean creates = m.group(2).startsWith("mkdir") || m.group(2).equals("creat") || (m.group(4) != null && m.group(4).contains("O_CREAT"));
          if (!creates) {
            continue;
          }
          Path p = Path.of(m.group(3));
          Matcher t = TEMP.matcher(p.getFileName().toString());
          if (t.matches()) {
            p = p.resolveSibling(t.group(1));
          }
          all.add(new Made(Double.parseDouble(m.group(1)), p, m.group(2), m.group(5)));
        }
      }
    }
    all.sort(Comparator.comparingDouble(Made::time));
    Map<Path, Made> first = new LinkedHashMap<>();
    all.forEach(x -> first.putIfAbsent(x.path(), x));
    return first;
  }

  private static String mode(Path p) throws Exception {
    return PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
  }

  @Test
  void everyKeyTokenKubeconfigAndTheStoreIsCreatedPrivateAndAnOpenDataDirectoryIsTightened() throws Exception {
    Path data = root.resolve("data");
    Path home = root.resolve("home");
    Path traces = root.resolve("traces");
    Files.createDirectories(home);
    Files.createDirectories(traces);
    try (PctlUp up = PctlUp.unstarted(data, root.resolve("up.log"))) {
      up.environment.put("HOME", home.toString());
      // each thread's calls in a file of its own (no interleaved lines), full paths, times to order them by
      up.wrapper.addAll(List.of("strace", "-ff", "-qq", "-ttt", "-s", "4096", "--seccomp-bpf",
          "-e", "trace=open,openat,creat,mkdir,mkdirat", "-e", "signal=none", "-o", traces.resolve("t").toString(), "--"));
      up.launch();
      // the controllers' kubeconfig is written just after the API server answers
      await().atMost(Duration.ofSeconds(30)).until(() -> Files.exists(data.resolve("controllers.kubeconfig")));
      up.stop();

      Map<Path, Made> made = made(traces);
      assertThat(made.get(data)).as("the data directory").isNotNull().extracting(Made::mode).isEqualTo("0700");
      assertThat(made.get(home.resolve(".procurator"))).as("~/.procurator").isNotNull().extracting(Made::mode).isEqualTo("0700");
      for (Made m : made.values()) {
        boolean ours = m.path().startsWith(data) || m.path().startsWith(home);
        if (!ours || m.call().startsWith("mkdir") || Set.of("cache-key.pub").contains(m.path().getFileName().toString())) {
          continue;
        }
        assertThat(m.mode()).as("%s created by %s", m.path(), m.call()).isIn("0600", "0400");
      }
      List<String> secrets = List.of("admin-token", "controllers-token", "encryption-key", "cache-key.sec", "cache-token",
          "cache-read-token", "kubeconfig", "controllers.kubeconfig", "pki/ca.key", "pki/apiserver.key", "store/procurator.db",
          "store/procurator.db-wal", "store/procurator.db-shm", "audit.log");
      for (String s : secrets) {
        assertThat(made.keySet()).as("created").contains(data.resolve(s));
      }
      assertThat(made.keySet()).as("created").contains(home.resolve(".procurator/kubeconfig"));

      // and so they stay
      assertThat(mode(data)).isEqualTo("rwx------");
      assertThat(mode(home.resolve(".procurator/kubeconfig"))).isEqualTo("rw-------");
      try (Stream<Path> walk = Files.walk(data)) {
        for (Path f : walk.filter(Files::isRegularFile).toList()) {
          if (!f.getFileName().toString().equals("cache-key.pub")) {
            assertThat(mode(f)).as("%s", data.relativize(f)).isIn("rw-------", "r--------");
          }
        }
      }

      // a data directory an older version made open is made private at the next start
      Files.setPosixFilePermissions(data, PosixFilePermissions.fromString("rwxr-xr-x"));
      Files.setPosixFilePermissions(data.resolve("store"), PosixFilePermissions.fromString("rwxr-xr-x"));
      Files.setPosixFilePermissions(data.resolve("store/procurator.db"), PosixFilePermissions.fromString("rw-r--r--"));
      up.wrapper.clear();
      up.launch();
      assertThat(mode(data)).isEqualTo("rwx------");
      assertThat(mode(data.resolve("store"))).isEqualTo("rwx------");
      assertThat(mode(data.resolve("store/procurator.db"))).isEqualTo("rw-------");
      assertThat(Files.readString(root.resolve("up.log"))).contains("Made the data directory " + data + " private (mode 0700)");
    }
  }
}
