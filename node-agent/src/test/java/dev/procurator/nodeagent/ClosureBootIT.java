package dev.procurator.nodeagent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.procurator.apiserver.testing.TestNames;
import dev.procurator.api.v1alpha1.VM;
import dev.procurator.api.v1alpha1.VMPhase;
import dev.procurator.api.v1alpha1.VMSpec;
import dev.procurator.apiserver.testing.TestApiServer;
import dev.procurator.cachesrv.CacheServer;
import dev.procurator.cachesrv.SigningKey;
import dev.procurator.nodeagent.testing.Guest;
import dev.procurator.nodeagent.vm.BootResolver;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A VM that boots a Nix closure (a store path holding kernel, initrd and init) which is not on the
 * node: the agent pulls it from the binary cache with the real nix client, checking the cache's
 * signature, and boots it.
 */
class ClosureBootIT {
  @TempDir Path tmp;

  @AfterEach
  void killLeftovers() throws Exception {
    Guest.killMachines(tmp);
  }

  private String nix(Path conf, String... args) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(args).redirectErrorStream(true);
    pb.environment().put("NIX_CONF_DIR", conf.toString());
    pb.environment().put("XDG_CACHE_HOME", tmp.resolve("xdg").toString());
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(300, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(String.join(" ", args) + ": " + out).isZero();
    return out.strip();
  }

  @Test
  void pullsTheClosureFromTheCacheAndBootsIt() throws Exception {
    Path images = Guest.images().resolve("hello");
    SigningKey key = SigningKey.generate("closure-test-1");
    String push = TestNames.unique("push");
    String read = TestNames.unique("read");
    Path conf = tmp.resolve("nixconf");
    Files.createDirectories(conf);
    Files.writeString(conf.resolve("nix.conf"), """
        experimental-features = nix-command
        build-users-group =
        sandbox = false
        substituters =
        narinfo-cache-negative-ttl = 0
        narinfo-cache-positive-ttl = 0
        """);
    try (CacheServer cache = new CacheServer(new CacheServer.Config("127.0.0.1", 0, tmp.resolve("cache"), key,
            Map.of(push, CacheServer.Access.WRITE, read, CacheServer.Access.READ), false, 40)).start();
        TestApiServer api = TestApiServer.embedded()) {
      int port = cache.port(); // bound on a port the kernel picked: none is taken between a check and the bind
      // a closure unique to this run: the example guest's kernel and initrd plus an init
      Path system = tmp.resolve(TestNames.unique("system"));
      Files.createDirectories(system);
      Files.copy(images.resolve("vmlinux"), system.resolve("kernel"));
      Files.copy(images.resolve("initrd.cpio.gz"), system.resolve("initrd"));
      Files.writeString(system.resolve("init"), "#!/bin/sh\nexec /init\n");
      String storePath = nix(conf, "nix-store", "--add", system.toString());
      nix(conf, "nix", "copy", "--to", "http://nix:" + push + "@127.0.0.1:" + port, storePath);
      nix(conf, "nix", "store", "delete", storePath);
      assertThat(Path.of(storePath)).doesNotExist();

      KubernetesClient c = api.client();
      VM vm = new VM();
      vm.setMetadata(new ObjectMetaBuilder().withName("from-cache").withNamespace("default").build());
      vm.setSpec(new VMSpec(1, "128Mi", null, new VMSpec.Boot(storePath, null, null, "console=ttyS0"), "node-a", null, null, null,
          null, null, null));
      c.resources(VM.class).inNamespace("default").resource(vm).create();
      NodeAgent.Config config = NodeAgent.Config.of("node-a", tmp.resolve("agent"))
          .withCache(new BootResolver.NixCache("http://nix:" + read + "@127.0.0.1:" + port, key.publicText(), conf));
      try (NodeAgent agent = new NodeAgent(c, config, Clock.systemUTC()).start()) {
        await().atMost(Duration.ofSeconds(180)).untilAsserted(() -> {
          VM v = c.resources(VM.class).inNamespace("default").withName("from-cache").get();
          assertThat(v.getStatus().phase()).as(String.valueOf(v.getStatus().message())).isEqualTo(VMPhase.RUNNING);
        });
        assertThat(Path.of(storePath, "kernel")).exists();
        String launched = Files.readString(tmp.resolve("agent/vms/default/from-cache/launch.json"));
        assertThat(launched).contains(storePath);
      } finally {
        // nix counts paths that running processes hold as alive
        Guest.killMachines(tmp);
        nix(conf, "nix", "store", "delete", storePath);
      }
    }
  }
}
