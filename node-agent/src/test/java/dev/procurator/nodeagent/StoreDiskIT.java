package dev.procurator.nodeagent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.procurator.api.v1alpha1.VM;
import dev.procurator.api.v1alpha1.VMPhase;
import dev.procurator.api.v1alpha1.VMSpec;
import dev.procurator.apiserver.testing.TestApiServer;
import dev.procurator.apiserver.testing.TestNames;
import dev.procurator.nodeagent.testing.Guest;
import dev.procurator.nodeagent.vm.StoreImages;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A VM that boots a closure sees that closure's store and nothing else, read-only at /nix/store:
 * from an erofs image built once per closure (two VMs share it; it goes when the closure is
 * collected), or over 9p when no image can be made. The closure's init is a script that exists
 * only in the store and sources a second store path: the guest's stage 1 mounts the store and
 * hands over to it (stage 2), which lists the store and looks for another closure's marker, then
 * carries on to the ready line. All with real nix (builtins only) and real QEMU.
 */
class StoreDiskIT {
  @TempDir Path tmp;
  private Path conf;
  private final List<String> built = new ArrayList<>();

  @BeforeEach
  void nixConf() throws Exception {
    conf = Files.createDirectories(tmp.resolve("nixconf"));
    Files.writeString(conf.resolve("nix.conf"), """
        experimental-features = nix-command
        build-users-group =
        sandbox = false
        substituters =
        """);
  }

  @AfterEach
  void cleanUp() throws Exception {
    Guest.killMachines(tmp);
    // nix deletes what nothing references, so the closures go before what they hold
    for (String p : built.reversed()) {
      run(false, "nix", "store", "delete", "--ignore-liveness", p);
    }
  }

  private String run(boolean check, String... args) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(args).redirectErrorStream(true);
    pb.environment().put("NIX_CONF_DIR", conf.toString());
    pb.environment().put("XDG_CACHE_HOME", tmp.resolve("xdg").toString());
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(300, TimeUnit.SECONDS)).isTrue();
    if (check) {
      assertThat(p.exitValue()).as(String.join(" ", args) + ": " + out).isZero();
    }
    return out.strip();
  }

  /** Builds {@code expr} (a file of this test) with string arguments; returns its store path. */
  private String build(String expr, String... argstrs) throws Exception {
    Path file = tmp.resolve(TestNames.unique("expr") + ".nix");
    Files.writeString(file, expr);
    List<String> cmd = new ArrayList<>(List.of("nix-build", "--no-out-link", file.toString()));
    for (int i = 0; i < argstrs.length; i += 2) {
      cmd.addAll(List.of("--argstr", argstrs[i], argstrs[i + 1]));
    }
    String out = run(true, cmd.toArray(String[]::new));
    String path = out.lines().reduce((a, b) -> b).orElseThrow();
    assertThat(path).startsWith("/nix/store/");
    return path;
  }

  /** Another closure on the host, holding a file the guest must not see. */
  private String marker(String tag) throws Exception {
    String path = build("""
        { tag }: derivation { name = "marker-${tag}"; system = "x86_64-linux"; builder = "/bin/sh";
          args = [ "-c" "echo not-for-the-guest > $out" ]; }
        """, "tag", tag);
    built.add(path);
    return path;
  }

  /** The example guest's kernel and initrd (copied under names of this run) and an init that only the store holds. */
  private String guest(String tag, String marker) throws Exception {
    Path images = Guest.images().resolve("hello");
    String path = build("""
        { kernelFile, initrdFile, tag, marker }:
        let
          kernel = builtins.path { path = /. + kernelFile; name = "kernel-${tag}"; };
          initrd = builtins.path { path = /. + initrdFile; name = "initrd-${tag}"; };
          lib = derivation { name = "stage2-lib-${tag}"; system = "x86_64-linux"; builder = "/bin/sh";
            args = [ "-c" "echo 'echo PROCURATOR-STAGE2-LIB > /dev/ttyS0' > $out" ]; };
        in derivation {
          name = "store-guest-${tag}"; system = "x86_64-linux"; builder = "/bin/sh";
          inherit kernel initrd;
          init = ''
            #!/bin/sh
            . ${lib}
            echo "PROCURATOR-STORE $(ls /nix/store | tr '\\n' ' ')" > /dev/ttyS0
            if [ -e ${marker} ]; then echo PROCURATOR-MARKER present; else echo PROCURATOR-MARKER absent; fi > /dev/ttyS0
            exec /init
          '';
          args = [ "-c" ''
            export PATH=/usr/bin:/bin
            mkdir "$out"
            ln -s "$kernel" "$out/kernel"
            ln -s "$initrd" "$out/initrd"
            printf '%s' "$init" > "$out/init"
            chmod +x "$out/init"
            echo "loglevel=4" > "$out/kernel-params"
          '' ];
        }
        """, "kernelFile", images.resolve("vmlinux").toString(), "initrdFile", images.resolve("initrd.cpio.gz").toString(),
        "tag", tag, "marker", marker);
    built.add(path);
    return path;
  }

  private static VM vm(String name, String closure) {
    VM vm = new VM();
    vm.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace("default").build());
    vm.setSpec(new VMSpec(1, "160Mi", null, new VMSpec.Boot(closure, null, null, "console=ttyS0"), "node-a", null, null, null,
        null, null, null));
    return vm;
  }

  private void awaitRunning(KubernetesClient c, String name) {
    await().atMost(Duration.ofSeconds(180)).untilAsserted(() -> {
      VM v = c.resources(VM.class).inNamespace("default").withName(name).get();
      assertThat(v.getStatus()).isNotNull();
      assertThat(v.getStatus().phase()).as(String.valueOf(v.getStatus().message())).isEqualTo(VMPhase.RUNNING);
    });
  }

  /** The guest's console lines that matter here, in order. */
  private List<String> console(String name) throws Exception {
    Path log = tmp.resolve("agent/vms/default").resolve(name).resolve("serial.log");
    return Files.readString(log, StandardCharsets.ISO_8859_1).lines().map(String::strip)
        .filter(l -> l.startsWith("PROCURATOR-")).toList();
  }

  /** Checks that the guest got exactly {@code closure}'s store and went through its init; returns its QEMU's command line. */
  private String assertBootedThroughItsStore(String name, String closure, String marker) throws Exception {
    List<String> lines = console(name);
    List<String> requisites = run(true, "nix-store", "--query", "--requisites", closure).lines()
        .map(p -> Path.of(p).getFileName().toString()).sorted().toList();
    assertThat(lines).as("console of " + name).containsSubsequence("PROCURATOR-STAGE2 " + closure + "/init", "PROCURATOR-STAGE2-LIB",
        "PROCURATOR-MARKER absent");
    assertThat(lines.getLast()).startsWith("PROCURATOR-READY");
    String listing = lines.stream().filter(l -> l.startsWith("PROCURATOR-STORE ")).findFirst().orElseThrow();
    assertThat(Arrays.stream(listing.substring("PROCURATOR-STORE ".length()).split(" ")).filter(s -> !s.isBlank()).sorted().toList())
        .as("the guest's /nix/store is exactly the closure").isEqualTo(requisites).doesNotContain(Path.of(marker).getFileName().toString());
    long pid = Long.parseLong(Files.readString(tmp.resolve("agent/vms/default").resolve(name).resolve("qemu.pid")).strip());
    String cmdline = Files.readString(Path.of("/proc/" + pid + "/cmdline"), StandardCharsets.UTF_8).replace('\0', ' ');
    assertThat(cmdline).contains("init=" + closure + "/init loglevel=4 console=ttyS0");
    return cmdline;
  }

  private static List<String> startedMessages(KubernetesClient c, String name) {
    return c.v1().events().inNamespace("default").withField("involvedObject.name", name).list().getItems().stream()
        .filter(e -> "Started".equals(e.getReason())).map(io.fabric8.kubernetes.api.model.Event::getMessage).toList();
  }

  @Test
  void twoVmsOfAClosureBootFromOneImageWhichGoesWhenTheClosureIsCollected() throws Exception {
    String tag = TestNames.unique("img");
    String marker = marker(tag);
    String closure = guest(tag, marker);
    try (TestApiServer api = TestApiServer.embedded()) {
      KubernetesClient c = api.client();
      // a short lease: the agent sweeps its store images at every heartbeat (a quarter of it)
      NodeAgent.Config config = NodeAgent.Config.of("node-a", tmp.resolve("agent")).withLeaseDuration(Duration.ofSeconds(4));
      Path images = tmp.resolve("agent/store-images");
      Path image = images.resolve(Path.of(closure).getFileName().toString().substring(0, 32) + ".erofs");
      try (NodeAgent agent = new NodeAgent(c, config, Clock.systemUTC()).start()) {
        c.resources(VM.class).inNamespace("default").resource(vm("first", closure)).create();
        awaitRunning(c, "first");
        assertThat(image).isRegularFile();
        Object builtOnce = Files.readAttributes(image, BasicFileAttributes.class).fileKey();
        String cmdline = assertBootedThroughItsStore("first", closure, marker);
        assertThat(cmdline).contains("-drive file=" + image + ",format=raw,if=none,readonly=on,id=store",
            "procurator.store=/dev/vda procurator.storefs=erofs");

        c.resources(VM.class).inNamespace("default").resource(vm("second", closure)).create();
        awaitRunning(c, "second");
        assertBootedThroughItsStore("second", closure, marker);
        assertThat(Files.readAttributes(image, BasicFileAttributes.class).fileKey()).as("the same image, not built again")
            .isEqualTo(builtOnce);
        try (Stream<Path> files = Files.list(images)) {
          assertThat(files).containsExactly(image);
        }
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(startedMessages(c, "second"))
            .anySatisfy(m -> assertThat(m).contains("store: erofs image " + image.getFileName())));

        c.resources(VM.class).inNamespace("default").withName("first").delete();
        c.resources(VM.class).inNamespace("default").withName("second").delete();
        await().atMost(Duration.ofSeconds(60)).until(() -> c.resources(VM.class).inNamespace("default").list().getItems().isEmpty());
        assertThat(image).as("kept while its closure is in the store").isRegularFile();
        run(true, "nix", "store", "delete", closure);
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(image).doesNotExist());
      }
    }
  }

  @Test
  void withoutAnImageTheClosureAloneIsSharedOver9p() throws Exception {
    String tag = TestNames.unique("share");
    String marker = marker(tag);
    String closure = guest(tag, marker);
    try (TestApiServer api = TestApiServer.embedded()) {
      KubernetesClient c = api.client();
      NodeAgent.Config config = NodeAgent.Config.of("node-a", tmp.resolve("agent"))
          .withStoreImages(new StoreImages.Settings(tmp.resolve("no-such/mkfs.erofs").toString(), Duration.ofHours(1), Duration.ofMinutes(5)));
      try (NodeAgent agent = new NodeAgent(c, config, Clock.systemUTC()).start()) {
        c.resources(VM.class).inNamespace("default").resource(vm("shared", closure)).create();
        awaitRunning(c, "shared");
        String cmdline = assertBootedThroughItsStore("shared", closure, marker);
        Path view = tmp.resolve("agent/vms/default/shared/store-view");
        assertThat(cmdline).contains("-fsdev local,id=store,path=" + view + ",security_model=none,readonly=on",
            "mount_tag=store", "procurator.store=9p:store").doesNotContain("virtio-blk");
        try (Stream<Path> files = Files.list(tmp.resolve("agent/store-images"))) {
          assertThat(files.filter(f -> f.toString().endsWith(".erofs"))).isEmpty();
        }
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(startedMessages(c, "shared"))
            .anySatisfy(m -> assertThat(m).contains("store: shared over 9p (no image: ").contains("mkfs.erofs")));
      }
    }
  }
}
