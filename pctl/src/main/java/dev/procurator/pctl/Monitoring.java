package dev.procurator.pctl;

import dev.procurator.api.files.PrivateFiles;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * The Prometheus (and Alertmanager) that {@code pctl up} runs beside the cluster: Debian's binaries,
 * started as children with their configuration and data under the data directory, each one's PID
 * kept in a file so that one left running by a pctl up that was killed is stopped (by that PID,
 * once its command line shows it is ours) before the next starts on the same data.
 */
final class Monitoring {
  private Monitoring() {}

  /** Prometheus' durations: 15d, 1h30m, 500ms. */
  static final Pattern DURATION = Pattern.compile("([0-9]+(ms|s|m|h|d|w|y))+");

  /** Where Prometheus scrapes and with what: the cluster's targets from the API server, and this host's cache. */
  record ScrapeConfig(String apiServerUrl, Path caFile, Path tokenFile, String cacheUrl, Path cacheTokenFile, String interval,
      String alertmanager) {}

  /** prometheus.yml for {@code c}, with the rules in {@code rulesFile}. */
  static String prometheusYaml(ScrapeConfig c, Path rulesFile) {
    StringBuilder y = new StringBuilder();
    y.append("# written by pctl up at each start: changes here are lost\n");
    y.append("global:\n  scrape_interval: ").append(c.interval()).append("\n  evaluation_interval: ").append(c.interval()).append('\n');
    y.append("rule_files:\n  - ").append(q(rulesFile.toString())).append('\n');
    if (c.alertmanager() != null) {
      y.append("alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: [").append(q(c.alertmanager())).append("]\n");
    }
    y.append("scrape_configs:\n");
    String sd = "    http_sd_configs:\n      - url: " + q(c.apiServerUrl() + "/sd/prometheus") + "\n        refresh_interval: " + c.interval()
        + "\n        authorization: {type: Bearer, credentials_file: " + q(c.tokenFile().toString()) + "}\n        tls_config: {ca_file: "
        + q(c.caFile().toString()) + "}\n    authorization: {type: Bearer, credentials_file: " + q(c.tokenFile().toString()) + "}\n";
    // the API server's certificate names its address; an agent's names its node (system:node:NAME), so its address goes unchecked
    y.append("  - job_name: procurator-apiserver\n").append(sd).append("    tls_config: {ca_file: ").append(q(c.caFile().toString()))
        .append("}\n    relabel_configs:\n      - {source_labels: [job], regex: procurator-apiserver, action: keep}\n");
    y.append("  - job_name: procurator-agent\n").append(sd).append("    tls_config: {ca_file: ").append(q(c.caFile().toString()))
        .append(", insecure_skip_verify: true}\n    relabel_configs:\n      - {source_labels: [job], regex: procurator-agent, action: keep}\n");
    if (c.cacheUrl() != null) {
      URI u = URI.create(c.cacheUrl());
      y.append("  - job_name: procurator-cache\n    scheme: ").append(u.getScheme()).append("\n    static_configs:\n      - targets: [")
          .append(q(u.getHost() + ":" + u.getPort())).append("]\n    basic_auth: {username: nix, password_file: ")
          .append(q(c.cacheTokenFile().toString())).append("}\n");
    }
    return y.toString();
  }

  /** alertmanager.yml: every alert to {@code webhook}, grouped by alert name and namespace. */
  static String alertmanagerYaml(String webhook, String groupWait) {
    return "# written by pctl up at each start: changes here are lost\n"
        + "route:\n  receiver: webhook\n  group_by: [alertname, namespace]\n  group_wait: " + groupWait + "\n  group_interval: 5m\n"
        + "  repeat_interval: 4h\nreceivers:\n  - name: webhook\n    webhook_configs:\n      - url: " + q(webhook) + "\n        send_resolved: true\n";
  }

  /** A YAML single-quoted string. */
  static String q(String s) {
    return "'" + s.replace("'", "''") + "'";
  }

  /** The shipped alert rules (observability/alerts.yml of the repository), as the jar carries them. */
  static byte[] alertRules() throws IOException {
    try (InputStream in = Monitoring.class.getResourceAsStream("/observability/alerts.yml")) {
      if (in == null) {
        throw new IOException("the alert rules are missing from pctl's jar");
      }
      return in.readAllBytes();
    }
  }

  /** {@code binary} on the PATH, if there. */
  static Optional<Path> onPath(String binary) {
    for (String d : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
      Path p = Path.of(d.isEmpty() ? "." : d, binary);
      if (Files.isExecutable(p)) {
        return Optional.of(p);
      }
    }
    return Optional.empty();
  }

  /** A child process of pctl up whose PID is kept in {@code dir/NAME.pid} and whose output goes to {@code dir/NAME.log}. */
  static final class Child implements AutoCloseable {
    private final String name;
    private final Path pidFile;
    private final Process process;
    private volatile boolean closing;

    private Child(String name, Path pidFile, Process process) {
      this.name = name;
      this.pidFile = pidFile;
      this.process = process;
    }

    /**
     * Starts {@code command} in {@code dir}, after stopping the one a killed pctl up may have left
     * there (the PID in the file, if that process's command line names {@code dir}). Says on
     * standard error if it exits while pctl up runs.
     */
    static Child start(String name, Path dir, List<String> command) throws IOException {
      Path pidFile = dir.resolve(name + ".pid");
      stopLeftover(pidFile, dir);
      Path log = dir.resolve(name + ".log");
      Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
      Files.writeString(pidFile, p.pid() + "\n");
      Child c = new Child(name, pidFile, p);
      p.onExit().thenAccept(exited -> {
        if (!c.closing) {
          System.err.println("warning: " + name + " exited (status " + exited.exitValue() + "); pctl up goes on without it. Its log: " + log
              + lastLines(log));
        }
      });
      return c;
    }

    long pid() {
      return process.pid();
    }

    boolean alive() {
      return process.isAlive();
    }

    private static String lastLines(Path log) {
      try {
        List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
        List<String> tail = new ArrayList<>(lines.subList(Math.max(0, lines.size() - 3), lines.size()));
        return tail.isEmpty() ? "" : "\n  " + String.join("\n  ", tail);
      } catch (IOException e) {
        return "";
      }
    }

    private static void stopLeftover(Path pidFile, Path dir) {
      long pid;
      try {
        pid = Long.parseLong(Files.readString(pidFile).trim());
      } catch (IOException | NumberFormatException e) {
        return;
      }
      ProcessHandle.of(pid).filter(ProcessHandle::isAlive)
          .filter(h -> h.info().commandLine().map(cl -> cl.contains(dir.toString())).orElse(false))
          .ifPresent(h -> {
            System.out.println("Stopping the " + pidFile.getFileName().toString().replace(".pid", "") + " (PID " + pid
                + ") a previous pctl up left running");
            stop(h);
          });
    }

    private static void stop(ProcessHandle h) {
      h.destroy();
      try {
        h.onExit().get(30, TimeUnit.SECONDS);
      } catch (Exception e) {
        h.destroyForcibly();
        try {
          h.onExit().get(10, TimeUnit.SECONDS);
        } catch (Exception ignored) {
          // gone or beyond reach: the next start says so if it cannot take the data
        }
      }
    }

    @Override
    public void close() throws IOException {
      closing = true;
      stop(process.toHandle());
      Files.deleteIfExists(pidFile);
    }

    @Override
    public String toString() {
      return name + " (PID " + process.pid() + ")";
    }
  }

  /** Prometheus' flags for its data in {@code dir}. */
  static List<String> prometheusCommand(Path binary, Path dir, String listen, String retention) {
    return List.of(binary.toString(), "--config.file=" + dir.resolve("prometheus.yml"), "--storage.tsdb.path=" + dir.resolve("data"),
        "--storage.tsdb.retention.time=" + retention, "--web.listen-address=" + listen);
  }

  /** Alertmanager's flags for its data in {@code dir}; no cluster port (one Alertmanager per host). */
  static List<String> alertmanagerCommand(Path binary, Path dir, String listen) {
    return List.of(binary.toString(), "--config.file=" + dir.resolve("alertmanager.yml"), "--storage.path=" + dir.resolve("data"),
        "--web.listen-address=" + listen, "--cluster.listen-address=");
  }

  /** Writes {@code text} to {@code file}, the owner's only (it names token files). */
  static void write(Path file, String text) throws IOException {
    PrivateFiles.write(file, text);
  }
}
