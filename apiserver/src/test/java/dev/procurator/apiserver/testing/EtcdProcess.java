package dev.procurator.apiserver.testing;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * Real etcd members from Debian's {@code etcd-server}, on free loopback ports in a temp dir.
 * {@link #start(int)} forms a cluster of that many members and waits until every member answers.
 */
public final class EtcdProcess implements AutoCloseable {
  /** One member's ports and process. */
  public static final class Member {
    final String name;
    final int clientPort;
    final int peerPort;
    final Path dataDir;
    Process process;
    List<String> args;

    Member(String name, int clientPort, int peerPort, Path dataDir) {
      this.name = name;
      this.clientPort = clientPort;
      this.peerPort = peerPort;
      this.dataDir = dataDir;
    }

    public String endpoint() {
      return "http://127.0.0.1:" + clientPort;
    }

    public Process process() {
      return process;
    }

    /** The member's data directory (its WAL and snapshots). */
    public Path dataDir() {
      return dataDir;
    }
  }

  private final List<Member> members;
  private final String initialCluster;
  private final String token;
  private final Path logDir;

  private final List<String> flags;

  private EtcdProcess(List<Member> members, Path logDir, List<String> flags) {
    this.members = members;
    this.logDir = logDir;
    this.flags = flags;
    this.initialCluster = members.stream()
        .map(m -> m.name + "=http://127.0.0.1:" + m.peerPort)
        .collect(Collectors.joining(","));
    this.token = TestNames.unique("t");
  }

  public static EtcdProcess start(int size) throws IOException {
    return start(size, List.of());
  }

  /** A cluster of {@code size} members, each started with these extra etcd flags. */
  public static EtcdProcess start(int size, List<String> flags) throws IOException {
    // a port found free may be taken before etcd binds it: such a start is tried again on other ports
    for (int attempt = 1; ; attempt++) {
      try {
        return startOnce(size, flags);
      } catch (PortTaken e) {
        if (attempt == 3) {
          throw new IllegalStateException(e.getMessage(), e);
        }
      }
    }
  }

  private static final class PortTaken extends RuntimeException {
    PortTaken(String message) {
      super(message);
    }
  }

  private static EtcdProcess startOnce(int size, List<String> flags) throws IOException {
    Path dir = Files.createTempDirectory("etcd-test");
    List<Member> members = new ArrayList<>();
    for (int i = 0; i < size; i++) {
      members.add(new Member("m" + i, freePort(), freePort(), dir.resolve("m" + i)));
    }
    EtcdProcess etcd = new EtcdProcess(members, dir, List.copyOf(flags));
    for (Member m : members) {
      etcd.launch(m);
    }
    try {
      for (Member m : members) {
        etcd.awaitUp(m);
      }
    } catch (IllegalStateException e) {
      boolean taken = false;
      for (Member m : members) {
        Path log = dir.resolve(m.name + ".log");
        taken |= Files.exists(log) && Files.readString(log).contains("address already in use");
      }
      if (!taken) {
        throw e;
      }
      etcd.close();
      throw new PortTaken(e.getMessage());
    }
    return etcd;
  }

  /**
   * A port free on 127.0.0.1 now, chosen below the kernel's ephemeral range (32768 and up), where
   * outgoing connections do not take ports between this check and the server binding it.
   */
  public static int freePort() throws IOException {
    java.util.concurrent.ThreadLocalRandom random = java.util.concurrent.ThreadLocalRandom.current();
    for (int i = 0; i < 50; i++) {
      int port = 20000 + random.nextInt(12000);
      try (ServerSocket s = new ServerSocket(port, 1, java.net.InetAddress.getLoopbackAddress())) {
        return s.getLocalPort();
      } catch (IOException taken) {
        // try another
      }
    }
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  private void launch(Member m) throws IOException {
    String binary = Files.isExecutable(Path.of("/usr/bin/etcd")) ? "/usr/bin/etcd" : "etcd";
    List<String> args = new ArrayList<>(List.of(binary,
        "--name", m.name,
        "--data-dir", m.dataDir.toString(),
        "--listen-client-urls", m.endpoint(),
        "--advertise-client-urls", m.endpoint(),
        "--listen-peer-urls", "http://127.0.0.1:" + m.peerPort,
        "--initial-advertise-peer-urls", "http://127.0.0.1:" + m.peerPort,
        "--initial-cluster", initialCluster,
        "--initial-cluster-state", "new",
        "--initial-cluster-token", token,
        "--listen-metrics-urls", "http://127.0.0.1:" + freePort(),
        "--heartbeat-interval", "50",
        "--election-timeout", "500"));
    args.addAll(flags);
    m.args = List.copyOf(args);
    m.process = new ProcessBuilder(m.args)
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(logDir.resolve(m.name + ".log").toFile()))
        .start();
  }

  private void awaitUp(Member m) {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (System.nanoTime() < deadline) {
      if (!m.process.isAlive()) {
        throw new IllegalStateException("etcd " + m.name + " exited; see " + logDir.resolve(m.name + ".log"));
      }
      try (Socket s = new Socket("127.0.0.1", m.clientPort)) {
        return;
      } catch (IOException notYet) {
        java.util.concurrent.locks.LockSupport.parkNanos(Duration.ofMillis(50).toNanos());
      }
    }
    throw new IllegalStateException("etcd " + m.name + " did not listen within 30 s");
  }

  public List<Member> members() {
    return members;
  }

  public List<String> endpoints() {
    return members.stream().map(Member::endpoint).toList();
  }

  /** kill -9 of one member. */
  public void kill(Member m) throws InterruptedException {
    m.process.destroyForcibly();
    m.process.waitFor(10, TimeUnit.SECONDS);
  }

  /** Starts a killed member again with its data. */
  public void restart(Member m) throws IOException {
    ProcessBuilder.Redirect out = ProcessBuilder.Redirect.appendTo(logDir.resolve(m.name + ".log").toFile());
    List<String> args = new ArrayList<>(m.args);
    args.set(args.indexOf("new"), "existing");
    m.process = new ProcessBuilder(args).redirectErrorStream(true).redirectOutput(out).start();
    awaitUp(m);
  }

  @Override
  public void close() {
    for (Member m : members) {
      if (m.process != null) {
        m.process.destroyForcibly();
      }
    }
    for (Member m : members) {
      try {
        if (m.process != null) {
          m.process.waitFor(10, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    deleteTree(logDir);
  }

  public static void deleteTree(Path dir) {
    try (var walk = Files.walk(dir)) {
      walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException ignored) {
      // best effort
    }
  }
}
