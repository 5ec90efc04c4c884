package dev.procurator.pctl;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.procurator.nodeagent.testing.Guest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The flake's {@code nixosModules.guest} evaluated by the real nix client with nixpkgs' lib against
 * the stubs in {@code nix/tests} (a NixOS toplevel needs nixpkgs, which these machines do not have):
 * it declares what the node agent gives a closure-booted VM and expects back — the store disk at
 * /nix/store, a tmpfs root, the console, the ready line, the Secrets' 9p shares, the address from the
 * kernel command line and the guest agent on its port — as the example guest's /init does them.
 */
class GuestModuleIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  @TempDir static Path tmp;
  private static JsonNode guests;

  @BeforeAll
  static void evaluate() throws Exception {
    Optional<Path> lib = NixModulesIT.nixpkgsLib();
    assertThat(lib).as("nixpkgs' lib (PROCURATOR_NIXPKGS_LIB, else the copy in nix/nixpkgs-lib)").isPresent();
    Path conf = tmp.resolve("nixconf");
    Files.createDirectories(conf);
    Files.writeString(conf.resolve("nix.conf"), "experimental-features = nix-command flakes\nbuild-users-group =\nsandbox = false\nsubstituters =\n");
    PctlIT.Run r = NixCli.run(conf, tmp, java.time.Duration.ofSeconds(120), "nix-instantiate", "--eval", "--strict", "--json",
        Guest.repoRoot().resolve("nix/tests/guest.nix").toString(), "--arg", "lib", "import " + lib.get());
    assertThat(r.code()).as(r.err()).isZero();
    guests = JSON.readTree(r.out());
  }

  private static List<String> texts(JsonNode list) {
    List<String> out = new ArrayList<>();
    list.forEach(n -> out.add(n.asText()));
    return out;
  }

  private static JsonNode unit(String guest, String name) {
    return guests.path(guest).path("units").path(name);
  }

  @Test
  void theStoreIsTheReadOnlyErofsDiskOnATmpfsRootAndStageOneHasTheModulesForIt() {
    JsonNode fs = guests.path("defaults").path("fileSystems");
    JsonNode store = fs.path("/nix/store");
    assertThat(store.path("device").asText()).isEqualTo("/dev/vda");
    assertThat(store.path("fsType").asText()).isEqualTo("erofs");
    assertThat(texts(store.path("options"))).contains("ro");
    assertThat(store.path("neededForBoot").asBoolean()).isTrue();
    assertThat(fs.path("/").path("fsType").asText()).isEqualTo("tmpfs");
    JsonNode boot = guests.path("defaults").path("boot");
    assertThat(texts(boot.path("initrdModules"))).contains("virtio_blk", "erofs", "9p", "9pnet_virtio", "virtio_console", "virtio_mmio");
    assertThat(texts(boot.path("kernelParams"))).contains("console=ttyS0");
    assertThat(boot.path("grub").asBoolean()).isFalse();
  }

  /** Where the agent could not make an image it shares the closure as the 9p tag "store" (procurator.store=9p:store). */
  @Test
  void aStoreSharedOver9pIsMountedReadOnlyByItsTag() {
    JsonNode store = guests.path("storeOver9p").path("fileSystems").path("/nix/store");
    assertThat(store.path("device").asText()).isEqualTo("store");
    assertThat(store.path("fsType").asText()).isEqualTo("9p");
    assertThat(texts(store.path("options"))).contains("trans=virtio", "ro");
    assertThat(guests.path("storeOver9p").path("units").has("procurator-network")).isFalse();
    assertThat(guests.path("storeOver9p").path("units").has("procurator-guest-agent")).isFalse();
  }

  @Test
  void theReadyLineGoesToTheSerialConsoleOnceTheChosenUnitIsUp() {
    JsonNode byDefault = unit("defaults", "procurator-ready");
    assertThat(texts(byDefault.path("after"))).containsExactly("multi-user.target");
    assertThat(texts(byDefault.path("wantedBy"))).containsExactly("multi-user.target");
    assertThat(byDefault.path("serviceConfig").path("ExecStart").asText()).contains("echo PROCURATOR-READY > /dev/ttyS0");
    JsonNode web = unit("web", "procurator-ready");
    assertThat(texts(web.path("after"))).containsExactly("web.service");
    assertThat(texts(web.path("wantedBy"))).containsExactly("web.service");
    // the template's role announces itself once its web server has started
    assertThat(texts(unit("template", "procurator-ready").path("after"))).containsExactly("web.service");
    assertThat(guests.path("template").path("fileSystems").path("/nix/store").path("fsType").asText()).isEqualTo("erofs");
  }

  /** The agent shares spec.secrets[i] as the 9p tag sec<i>; a service reads a Secret's .env as its environment. */
  @Test
  void secretsAreReadOnly9pMountsAndAServiceGetsTheirEnvFile() {
    JsonNode fs = guests.path("web").path("fileSystems");
    assertThat(fs.path("/run/tls").path("device").asText()).isEqualTo("sec0");
    JsonNode db = fs.path("/run/secrets/db");
    assertThat(db.path("device").asText()).isEqualTo("sec1");
    assertThat(db.path("fsType").asText()).isEqualTo("9p");
    assertThat(texts(db.path("options"))).contains("trans=virtio", "ro");
    JsonNode web = unit("web", "web");
    assertThat(texts(web.path("serviceConfig").path("EnvironmentFile"))).containsExactly("/run/secrets/db/.env");
    assertThat(texts(web.path("unitConfig").path("RequiresMountsFor"))).containsExactly("/run/secrets/db");
    // what the service said itself is kept
    assertThat(web.path("serviceConfig").path("ExecStart").asText()).isEqualTo("/bin/web");
    assertThat(texts(guests.path("web").path("failedAssertions"))).isEmpty();
    assertThat(texts(guests.path("unknownSecret").path("failedAssertions")))
        .containsExactly("procurator.guest.secretEnvironment.web names a Secret that procurator.guest.secrets does not mount: nope");
  }

  /** As the example guest: procurator.ip= and procurator.gw= from the command line (tap), else QEMU's user network. */
  @Test
  void theAddressComesFromTheKernelCommandLineElseTheUserNetworksDefaults() {
    JsonNode net = unit("defaults", "procurator-network");
    String script = net.path("serviceConfig").path("ExecStart").asText();
    assertThat(script).contains("/proc/cmdline", "procurator.ip=*) addr=${arg#procurator.ip=}; gw= ;;",
        "procurator.gw=*) gw=${arg#procurator.gw=} ;;", "addr=10.0.2.15/24; gw=10.0.2.2",
        "ip addr replace \"$addr\" dev eth0", "ip route replace default via \"$gw\"");
    assertThat(texts(net.path("before"))).contains("network.target");
    assertThat(texts(net.path("wantedBy"))).contains("network.target");
    assertThat(guests.path("defaults").path("useDHCP").asBoolean()).isFalse();
  }

  @Test
  void theGuestAgentServesItsPortWhenUdevSeesIt() {
    JsonNode agent = unit("defaults", "procurator-guest-agent");
    String script = agent.path("serviceConfig").path("ExecStart").asText();
    assertThat(script).contains("port=/dev/virtio-ports/procurator.agent", "timeout \"$t\"", "tail -c 512",
        "{id: $id, exit: $exit, output: $output}");
    assertThat(texts(agent.path("bindsTo"))).containsExactly("dev-virtio\\x2dports-procurator.agent.device");
    assertThat(texts(agent.path("after"))).containsExactly("dev-virtio\\x2dports-procurator.agent.device");
    assertThat(guests.path("defaults").path("udev").asText())
        .contains("ATTR{name}==\"procurator.agent\"", "TAG+=\"systemd\"", "SYSTEMD_WANTS}+=\"procurator-guest-agent.service\"");
    assertThat(texts(unit("web", "procurator-guest-agent").path("path"))).containsExactly("/nix/store/00000000000000000000000000000000-curl");
  }

  @Test
  void turnedOffItDeclaresNothing() {
    JsonNode off = guests.path("disabled");
    assertThat(off.path("fileSystems").size()).isZero();
    assertThat(off.path("units").size()).isZero();
    assertThat(off.path("boot").path("grub").asBoolean()).isTrue();
  }
}
