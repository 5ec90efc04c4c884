package dev.procurator.pctl;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.procurator.nodeagent.testing.Guest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import java.util.Locale;

/**
 * The nix/ folder evaluated by the real nix client with nixpkgs' lib (the module system): the NixOS
 * modules produce the systemd units the README documents, with flags pctl really has, and the
 * cluster module turns typed options into Cluster resources, or a wrong type into the module
 * system's message. nixpkgs' lib is found through {@code PROCURATOR_NIXPKGS_LIB} (or the system
 * property {@code procurator.nixpkgsLib}), by default the copy in {@code nix/nixpkgs-lib/lib} of the
 * checkout, where it exists.
 */
class NixModulesIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String PKG = "/nix/store/00000000000000000000000000000000-procurator/bin/pctl";
  @TempDir static Path tmp;
  private static JsonNode modules;

  /** nixpkgs' lib, from the setting or its default, if there is one on this machine. */
  static Optional<Path> nixpkgsLib() {
    String set = System.getenv("PROCURATOR_NIXPKGS_LIB");
    if (set == null) {
      set = System.getProperty("procurator.nixpkgsLib");
    }
    Path p = set != null ? Path.of(set) : Guest.repoRoot().resolve("nix").resolve("nixpkgs-lib").resolve("lib");
    // the same check as FlakeSourceIT's: nixpkgs' lib both as a path to import and as a flake
    return Files.isRegularFile(p.resolve("default.nix")) && Files.isRegularFile(p.resolve("flake.nix"))
        ? Optional.of(p.toAbsolutePath()) : Optional.empty();
  }

  static PctlIT.Run nix(String... cmd) throws Exception {
    Path conf = tmp.resolve("nixconf");
    Files.createDirectories(conf);
    Files.writeString(conf.resolve("nix.conf"), "experimental-features = nix-command flakes\nbuild-users-group =\nsandbox = false\nsubstituters =\n");
    return NixCli.run(conf, tmp, java.time.Duration.ofSeconds(120), cmd);
  }

  @BeforeAll
  static void evaluate() throws Exception {
    Optional<Path> lib = nixpkgsLib();
    assertThat(lib).as("nixpkgs' lib (PROCURATOR_NIXPKGS_LIB, else the copy in nix/nixpkgs-lib)").isPresent();
    PctlIT.Run r = nix("nix-instantiate", "--eval", "--strict", "--json", Guest.repoRoot().resolve("nix/tests/modules.nix").toString(),
        "--arg", "lib", "import " + lib.get());
    assertThat(r.code()).as(r.err()).isZero();
    modules = JSON.readTree(r.out());
  }

  private static String exec(JsonNode host, String unit) {
    return host.path("units").path(unit).path("serviceConfig").path("ExecStart").asText();
  }

  @Test
  void theDefaultsRunTheControlPlaneUnprivilegedAndAnAgentThatBuildsNothing() {
    JsonNode d = modules.path("defaults");
    assertThat(exec(d, "procurator-control-plane")).isEqualTo(PKG + " up --data-dir /var/lib/procurator --listen 127.0.0.1:7443"
        + " --store embedded --node-grace-period 40 --no-prometheus --cache-listen 127.0.0.1:7444 --cache-max-size 0 --no-agent");
    assertThat(d.path("units").path("procurator-control-plane").path("serviceConfig").path("User").asText()).isEqualTo("procurator");
    assertThat(exec(d, "procurator-agent")).isEqualTo(PKG + " --kubeconfig /etc/procurator/kubeconfig agent --data-dir /var/lib/procurator-agent"
        + " --listen 127.0.0.1:10250 --lease-duration 40 --cpu-overcommit 4 --max-builds 0");
    // the agent's VMs outlive a restart of the agent, which adopts them
    assertThat(d.path("units").path("procurator-agent").path("serviceConfig").path("KillMode").asText()).isEqualTo("process");
    assertThat(exec(d, "procurator-cache")).startsWith(PKG + " cache --dir /var/lib/procurator-cache --listen 127.0.0.1:7444");
    assertThat(d.path("ports")).isEmpty();
    assertThat(modules.path("disabled").path("units")).isEmpty();
  }

  @Test
  void threeHostsGetEtcdABuilderAgentAndACacheWithTheirPortsOpen() {
    JsonNode h = modules.path("threeHosts");
    assertThat(exec(h.path("control"), "procurator-control-plane")).contains("--store etcd://10.0.0.11:2379,10.0.0.12:2379",
        "--listen 0.0.0.0:7443", "--cache-listen none", "--no-agent");
    assertThat(h.path("control").path("ports").toString()).isEqualTo("[7443]");
    assertThat(exec(h.path("agent"), "procurator-agent")).contains("--max-builds 2", "--name host-b",
        "--labels 'zone=a'", "--build-push-token-file /run/secrets/cache-push-token",
        "--cache-public-key /etc/procurator/cache-key.pub", "--join-token-file /run/secrets/procurator-join-token",
        "--ca-file /etc/procurator/ca.crt", "--cert-ttl 24h");
    // a joining node has its own identity, never the admin kubeconfig, and does not label itself a builder (an admin does)
    assertThat(exec(h.path("agent"), "procurator-agent")).startsWith(PKG + " --server https://10.0.0.5:7443 agent").doesNotContain("--kubeconfig")
        .doesNotContain("procurator.dev/builder");
    assertThat(h.path("agent").path("ports").toString()).isEqualTo("[10250]");
    assertThat(exec(h.path("cache"), "procurator-cache")).contains("--max-size 50G", "--listen 0.0.0.0:7444");
  }

  /** NixOS runs Prometheus itself: the control plane's module points it at the cluster, with pctl up's Prometheus identity. */
  @Test
  void theControlPlaneHasTheHostsPrometheusScrapeTheClusterWithItsOwnIdentity() {
    JsonNode m = modules.path("monitored");
    assertThat(m.path("prometheus").path("enable").asBoolean()).isTrue();
    JsonNode jobs = m.path("prometheus").path("scrapeConfigs");
    assertThat(jobs.findValuesAsText("job_name")).containsExactly("procurator-apiserver", "procurator-agent", "procurator-cache");
    assertThat(jobs.get(0).path("http_sd_configs").get(0).path("url").asText()).isEqualTo("https://127.0.0.1:7443/sd/prometheus");
    assertThat(jobs.get(0).path("authorization").path("credentials_file").asText())
        .isEqualTo("/run/credentials/prometheus.service/procurator-token");
    assertThat(jobs.get(2).path("static_configs").get(0).path("targets").get(0).asText()).isEqualTo("127.0.0.1:7444");
    assertThat(m.path("prometheusUnit").path("credentials").toString()).contains("procurator-token:/var/lib/procurator/prometheus-token",
        "procurator-ca:/var/lib/procurator/pki/ca.crt", "procurator-cache-token:/var/lib/procurator/cache-read-token");
    assertThat(m.path("prometheus").path("rules").get(0).asText()).endsWith("observability/alerts.yml");
    assertThat(exec(m, "procurator-control-plane")).contains("--no-prometheus");
  }

  @Test
  void everyFlagTheModulesPassIsOneThatPctlHas() {
    CommandLine pctl = new CommandLine(new Pctl());
    List<String> units = new ArrayList<>();
    modules.findValues("ExecStart").forEach(e -> units.add(e.asText()));
    assertThat(units).hasSizeGreaterThanOrEqualTo(6);
    Matcher sub = Pattern.compile("bin/pctl (?:--(?:kubeconfig|server) \\S+ )*(\\w+)").matcher("");
    for (String line : units) {
      assertThat(sub.reset(line).find()).as(line).isTrue();
      CommandLine.Model.CommandSpec spec = pctl.getSubcommands().get(sub.group(1)).getCommandSpec();
      Matcher flag = Pattern.compile(" (--[a-z-]+)").matcher(line);
      while (flag.find()) {
        String f = flag.group(1);
        boolean known = spec.findOption(f) != null || pctl.getCommandSpec().findOption(f) != null;
        assertThat(known).as(f + " in " + line).isTrue();
      }
    }
  }

  @Test
  void theClusterModuleTurnsTypedOptionsIntoClusterResources() throws Exception {
    PctlIT.Run r = nix("nix-instantiate", "--eval", "--strict", "--json", "-E", String.format(Locale.ROOT, """
        let lib = import %s; p = import %s { inherit lib; }; in p.resources [ {
          procurator.cluster = { name = "shop"; vms.web = {
            cpu = 2; memory = "128Mi"; replicas = 3; labels.tier = "front";
            closure = "/nix/store/0c3ghl2pfmxw7kxq2hyd5d44fbxrhz0y-web"; ports = [ 8080 ];
            healthChecks = [ { type = "http"; port = 8080; path = "/healthz"; } ];
            strategy = { type = "BlueGreen"; scaleDownDelaySeconds = 5; }; autoRollback = false; }; }; } ]
        """, nixpkgsLib().orElseThrow(), Guest.repoRoot().resolve("nix/lib")));
    assertThat(r.code()).as(r.err()).isZero();
    JsonNode c = JSON.readTree(r.out()).get(0);
    assertThat(c.path("kind").asText()).isEqualTo("Cluster");
    assertThat(c.path("metadata").path("name").asText()).isEqualTo("web");
    assertThat(c.path("metadata").path("labels").path("procurator.dev/part-of").asText()).isEqualTo("shop");
    JsonNode t = c.path("spec").path("templates").get(0);
    assertThat(t.path("replicas").asInt()).isEqualTo(3);
    assertThat(t.path("spec").path("boot").path("closure").asText()).isEqualTo("/nix/store/0c3ghl2pfmxw7kxq2hyd5d44fbxrhz0y-web");
    assertThat(t.path("spec").path("healthChecks").get(0).path("failureThreshold").asInt()).isEqualTo(3);
    assertThat(c.path("spec").path("strategy").path("type").asText()).isEqualTo("BlueGreen");
    assertThat(c.path("spec").path("autoRollback").asBoolean()).isFalse();
  }

  @Test
  void aWrongTypeFailsWithTheModuleSystemsMessage() throws Exception {
    PctlIT.Run r = nix("nix-instantiate", "--eval", "--strict", "--json", "-E", String.format(Locale.ROOT, """
        let lib = import %s; p = import %s { inherit lib; }; in p.resources [ {
          procurator.cluster = { name = "shop"; vms.web = { cpu = "two"; closure = "/nix/store/0c3ghl2pfmxw7kxq2hyd5d44fbxrhz0y-web"; }; }; } ]
        """, nixpkgsLib().orElseThrow(), Guest.repoRoot().resolve("nix/lib")));
    assertThat(r.code()).isNotZero();
    assertThat(r.err()).contains("procurator.cluster.vms.web.cpu", "is not of type `integer between 1 and 64");
  }

  @Test
  void theFlakeOffersTheModulesTheLibAndATemplate() throws Exception {
    String flake = "git+file://" + Guest.repoRoot();
    String override = "path:" + nixpkgsLib().orElseThrow();
    PctlIT.Run r = nix("nix", "eval", "--json", "--no-write-lock-file", flake + "#nixosModules", "--apply", "builtins.attrNames",
        "--override-input", "nixpkgs", override);
    assertThat(r.code()).as(r.err()).isZero();
    assertThat(r.out()).contains("\"cluster\"", "\"control-plane\"", "\"node-agent\"", "\"cache\"", "\"guest\"");
    PctlIT.Run t = nix("nix", "eval", "--raw", "--no-write-lock-file", flake + "#templates.default.path", "--override-input", "nixpkgs", override);
    assertThat(t.code()).as(t.err()).isZero();
    assertThat(Path.of(t.out().strip()).resolve("flake.nix")).exists();
  }
}
