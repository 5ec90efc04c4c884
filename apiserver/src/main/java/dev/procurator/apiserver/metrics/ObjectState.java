package dev.procurator.apiserver.metrics;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the stored objects say, as gauges, the way kube-state-metrics reads a Kubernetes cluster:
 * whether each Node is Ready, each VM's phase, restarts and health, whether a Cluster's rollout was
 * rolled back, each Build's phase, whether each GitRepository is Ready; and when the API server's
 * certificates expire. The alert rules shipped with Procurator are written on these. Taken at most
 * once per {@link #MIN_INTERVAL} when a scrape asks ({@link #refresh()}), from the store's current objects.
 */
public final class ObjectState {
  private static final Logger log = LoggerFactory.getLogger(ObjectState.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  /** A scrape sooner than this after the last reads the same values. */
  public static final Duration MIN_INTERVAL = Duration.ofSeconds(5);

  /** Lists the current objects of a kind (such as {@code procurator.dev/vms}) as JSON. */
  public interface Lister {
    List<byte[]> list(String group, String resource);
  }

  private final Lister lister;
  private final Map<String, Path> certificates;
  private final Clock clock;
  private final Map<String, MultiGauge> gauges = new LinkedHashMap<>();
  private Instant last = Instant.MIN;

  /**
   * @param certificates PEM certificates whose expiry is reported, by the {@code certificate} label
   */
  public ObjectState(MeterRegistry registry, Lister lister, Map<String, Path> certificates, Clock clock) {
    this.lister = lister;
    this.certificates = Map.copyOf(certificates);
    this.clock = clock;
    gauge(registry, "procurator_node_ready", "1 when the Node's Ready condition is True, else 0");
    gauge(registry, "procurator_vm_status_phase", "1 for the VM's current phase");
    gauge(registry, "procurator_vm_status_restarts", "the VM's status.restartCount: how often its node started it again");
    gauge(registry, "procurator_vm_healthy", "1 when the VM's Healthy condition is True, 0 when False or Unknown (VMs with no health check have none)");
    gauge(registry, "procurator_cluster_rolled_back", "1 when the Cluster's last rollout failed and was rolled back, else 0");
    gauge(registry, "procurator_build_status_phase", "1 for the Build's current phase");
    gauge(registry, "procurator_gitrepository_ready", "1 when the GitRepository's Ready condition is True, else 0");
    gauge(registry, "procurator_certificate_expiry_timestamp_seconds", "when the certificate stops being valid, in seconds since the epoch");
  }

  private void gauge(MeterRegistry registry, String name, String description) {
    gauges.put(name, MultiGauge.builder(name).description(description).register(registry));
  }

  /** Reads the objects again unless that was done less than {@link #MIN_INTERVAL} ago. */
  public synchronized void refresh() {
    Instant now = clock.instant();
    if (now.isBefore(last.plus(MIN_INTERVAL))) {
      return;
    }
    last = now;
    try {
      set("procurator_node_ready", rows("nodes", n -> List.of(row(Tags.of("node", name(n)), condition(n, "Ready") ? 1 : 0))));
      set("procurator_vm_status_phase", rows("vms", v -> v.path("status").path("phase").isTextual()
          ? List.of(row(Tags.of("namespace", namespace(v), "vm", name(v), "phase", v.path("status").path("phase").asText()), 1)) : List.of()));
      set("procurator_vm_status_restarts", rows("vms", v -> List.of(row(Tags.of("namespace", namespace(v), "vm", name(v)),
          v.path("status").path("restartCount").asLong(0)))));
      set("procurator_vm_healthy", rows("vms", v -> find(v, "Healthy") == null ? List.of()
          : List.of(row(Tags.of("namespace", namespace(v), "vm", name(v)), condition(v, "Healthy") ? 1 : 0))));
      set("procurator_cluster_rolled_back", rows("clusters", c -> {
        JsonNode p = find(c, "Progressing");
        boolean back = p != null && "RolledBack".equals(p.path("reason").asText());
        return List.of(row(Tags.of("namespace", namespace(c), "cluster", name(c)), back ? 1 : 0));
      }));
      set("procurator_build_status_phase", rows("builds", b -> b.path("status").path("phase").isTextual()
          ? List.of(row(Tags.of("namespace", namespace(b), "build", name(b), "phase", b.path("status").path("phase").asText()), 1)) : List.of()));
      set("procurator_gitrepository_ready", rows("gitrepositories", g -> List.of(row(Tags.of("namespace", namespace(g), "gitrepository", name(g)),
          condition(g, "Ready") ? 1 : 0))));
      List<MultiGauge.Row<?>> certs = new ArrayList<>();
      certificates.forEach((label, file) -> {
        Instant notAfter = notAfter(file);
        if (notAfter != null) {
          certs.add(row(Tags.of("certificate", label), notAfter.getEpochSecond()));
        }
      });
      set("procurator_certificate_expiry_timestamp_seconds", certs);
    } catch (RuntimeException e) {
      log.warn("reading the objects' state for /metrics failed: {}", e.toString());
    }
  }

  private void set(String name, List<MultiGauge.Row<?>> rows) {
    gauges.get(name).register(rows, true);
  }

  private List<MultiGauge.Row<?>> rows(String resource, Function<JsonNode, List<MultiGauge.Row<?>>> of) {
    List<MultiGauge.Row<?>> out = new ArrayList<>();
    for (byte[] item : lister.list("procurator.dev", resource)) {
      try {
        out.addAll(of.apply(JSON.readTree(item)));
      } catch (IOException e) {
        log.debug("an unreadable {} object: {}", resource, e.toString());
      }
    }
    return out;
  }

  private static MultiGauge.Row<?> row(Tags tags, double value) {
    return MultiGauge.Row.of(tags, value);
  }

  private static String name(JsonNode o) {
    return o.path("metadata").path("name").asText();
  }

  private static String namespace(JsonNode o) {
    return o.path("metadata").path("namespace").asText();
  }

  private static JsonNode find(JsonNode o, String type) {
    for (JsonNode c : o.path("status").path("conditions")) {
      if (type.equals(c.path("type").asText())) {
        return c;
      }
    }
    return null;
  }

  private static boolean condition(JsonNode o, String type) {
    JsonNode c = find(o, type);
    return c != null && "True".equals(c.path("status").asText());
  }

  private static Instant notAfter(Path pem) {
    try (InputStream in = Files.newInputStream(pem)) {
      X509Certificate c = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
      return c.getNotAfter().toInstant();
    } catch (IOException | CertificateException | ClassCastException e) {
      return null;
    }
  }
}
