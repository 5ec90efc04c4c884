package dev.procurator.apiserver.authz;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.procurator.api.v1alpha1.Build;
import dev.procurator.api.v1alpha1.Node;
import dev.procurator.api.v1alpha1.Secret;
import dev.procurator.api.v1alpha1.VM;
import dev.procurator.api.v1alpha1.VMSpec;
import dev.procurator.apiserver.testing.TestApiServer;
import dev.procurator.apiserver.testing.TestNames;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.util.Locale;
import java.util.Map;
import org.assertj.core.api.ThrowableAssert;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A node, as its own client certificate, against a real API server: it writes the status of what
 * is bound to it and its own finalizer, never their spec or metadata (so it cannot mount itself a
 * Secret and read it); no label under procurator.dev/ on its own Node; and only its own Lease in
 * the node lease namespace (never the controllers' leader Lease).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class NodeRestrictionIT {
  private static final String VMS = "/apis/procurator.dev/v1alpha1/namespaces/default/vms/";
  private static final String MERGE = "application/merge-patch+json";
  private TestApiServer api;

  @BeforeAll
  void start() throws Exception {
    api = TestApiServer.embedded();
  }

  @AfterAll
  void stop() {
    api.close();
  }

  private void admin(String method, String path, String body) throws Exception {
    var r = api.request(method, path, method.equals("PATCH") ? MERGE : "application/json", body.replace('\'', '"'));
    assertThat(r.statusCode()).as(method + " " + path + ": " + r.body()).isBetween(200, 201);
  }

  private static void forbidden(ThrowableAssert.ThrowingCallable call, String... said) {
    assertThatThrownBy(call).isInstanceOfSatisfying(KubernetesClientException.class, e -> {
      assertThat(e.getCode()).as(e.getMessage()).isEqualTo(403);
      assertThat(e.getMessage()).contains(said);
    });
  }

  /** A Secret {@code mounted} the node's VM uses, a Secret {@code other} it does not, and the VM {@code vm} bound to {@code node}. */
  private void vmWithSecrets(String node, String vm, String mounted, String other) throws Exception {
    for (String s : new String[] {mounted, other}) {
      admin("POST", "/apis/procurator.dev/v1alpha1/namespaces/default/secrets",
          "{'apiVersion':'procurator.dev/v1alpha1','kind':'Secret','metadata':{'name':'" + s + "'},'spec':{'stringData':{'k':'v'}}}");
    }
    admin("POST", VMS, String.format(Locale.ROOT, "{'apiVersion':'procurator.dev/v1alpha1','kind':'VM','metadata':{'name':'%s'},"
        + "'spec':{'cpu':1,'memory':'128Mi','boot':{'kernel':'hello/vmlinux'},'nodeName':'%s',"
        + "'secrets':[{'name':'%s','mountPath':'/run/secrets'}]}}", vm, node, mounted));
  }

  @Test
  void aNodeCannotMountItselfASecretByEditingItsVm() throws Exception {
    String node = TestNames.unique("node");
    String vm = TestNames.unique("vm");
    String mounted = TestNames.unique("mounted");
    String other = TestNames.unique("other");
    vmWithSecrets(node, vm, mounted, other);
    try (KubernetesClient n = api.nodeClient(node)) {
      var secrets = n.resources(Secret.class).inNamespace("default");
      assertThat(secrets.withName(mounted).get()).isNotNull();
      forbidden(() -> secrets.withName(other).get(), "secrets");
      var vms = n.resources(VM.class).inNamespace("default");
      forbidden(() -> vms.withName(vm).patch(PatchContext.of(PatchType.JSON_MERGE),
          "{\"spec\":{\"secrets\":[{\"name\":\"" + other + "\",\"mountPath\":\"/run/other\"}]}}"), "may change only the status", "spec");
      forbidden(() -> secrets.withName(other).get(), "secrets");
      // nor relabel it, nor move it to another node
      forbidden(() -> vms.withName(vm).patch(PatchContext.of(PatchType.JSON_MERGE), "{\"metadata\":{\"labels\":{\"app\":\"x\"}}}"),
          "metadata.labels");
      forbidden(() -> vms.withName(vm).patch(PatchContext.of(PatchType.JSON_MERGE), "{\"spec\":{\"nodeName\":\"elsewhere\"}}"), "spec");
      assertThat(api.client().resources(VM.class).inNamespace("default").withName(vm).get().getSpec().secrets())
          .extracting(VMSpec.SecretMount::name).containsExactly(mounted);
    }
  }

  @Test
  void aNodeWritesItsVmsStatusAndOnlyItsOwnFinalizer() throws Exception {
    String node = TestNames.unique("node");
    String vm = TestNames.unique("vm");
    vmWithSecrets(node, vm, TestNames.unique("mounted"), TestNames.unique("other"));
    try (KubernetesClient n = api.nodeClient(node)) {
      var vms = n.resources(VM.class).inNamespace("default");
      VM held = vms.withName(vm).patch(PatchContext.of(PatchType.JSON_MERGE),
          "{\"metadata\":{\"finalizers\":[\"procurator.dev/node-agent\"]}}");
      assertThat(held.getMetadata().getFinalizers()).containsExactly("procurator.dev/node-agent");
      forbidden(() -> vms.withName(vm).patch(PatchContext.of(PatchType.JSON_MERGE),
          "{\"metadata\":{\"finalizers\":[\"procurator.dev/node-agent\",\"example.com/hold\"]}}"), "metadata.finalizers");
      VM running = vms.withName(vm).subresource("status").patch(PatchContext.of(PatchType.JSON_MERGE),
          "{\"status\":{\"phase\":\"Running\",\"message\":\"up on " + node + "\"}}");
      assertThat(running.getStatus().message()).isEqualTo("up on " + node);
      VM released = vms.withName(vm).patch(PatchContext.of(PatchType.JSON_MERGE), "{\"metadata\":{\"finalizers\":null}}");
      assertThat(released.getMetadata().getFinalizers()).isEmpty();
    }
  }

  @Test
  void aBuildStaysOnTheNodeItWasPlacedOn() throws Exception {
    String node = TestNames.unique("node");
    String build = TestNames.unique("build");
    admin("POST", "/apis/procurator.dev/v1alpha1/namespaces/default/builds", "{'apiVersion':'procurator.dev/v1alpha1','kind':'Build',"
        + "'metadata':{'name':'" + build + "'},'spec':{'flake':'path:/src','attributes':['app']}}");
    admin("PATCH", "/apis/procurator.dev/v1alpha1/namespaces/default/builds/" + build + "/status",
        "{'status':{'phase':'Building','nodeName':'" + node + "'}}");
    try (KubernetesClient n = api.nodeClient(node)) {
      var builds = n.resources(Build.class).inNamespace("default").withName(build);
      forbidden(() -> builds.subresource("status").patch(PatchContext.of(PatchType.JSON_MERGE), "{\"status\":{\"nodeName\":\"elsewhere\"}}"),
          "status.nodeName");
      Build done = builds.subresource("status").patch(PatchContext.of(PatchType.JSON_MERGE), "{\"status\":{\"phase\":\"Succeeded\"}}");
      assertThat(done.getStatus().nodeName()).isEqualTo(node);
      // giving it back to the queue, for another attempt, is the builder's to do
      Build released = builds.subresource("status").patch(PatchContext.of(PatchType.JSON_MERGE),
          "{\"status\":{\"phase\":\"Pending\",\"nodeName\":null}}");
      assertThat(released.getStatus().nodeName()).isNull();
    }
  }

  @Test
  void aNodeSetsNoProcuratorLabelOnItself() throws Exception {
    String name = TestNames.unique("node");
    try (KubernetesClient n = api.nodeClient(name)) {
      var nodes = n.resources(Node.class);
      Node builder = new Node();
      builder.setMetadata(new ObjectMetaBuilder().withName(name).withLabels(Map.of("procurator.dev/builder", "true")).build());
      forbidden(() -> nodes.resource(builder).create(), "procurator.dev/builder", "cluster admins");
      Node plain = new Node();
      plain.setMetadata(new ObjectMetaBuilder().withName(name).withLabels(Map.of("zone", "a")).build());
      nodes.resource(plain).create();
      forbidden(() -> nodes.withName(name).patch(PatchContext.of(PatchType.JSON_MERGE),
          "{\"metadata\":{\"labels\":{\"procurator.dev/builder\":\"true\"}}}"), "procurator.dev/builder");
      // an admin makes it a builder; the node keeps writing its Node, but cannot take the label off
      admin("PATCH", "/apis/procurator.dev/v1alpha1/nodes/" + name, "{'metadata':{'labels':{'procurator.dev/builder':'true'}}}");
      Node kept = nodes.withName(name).get();
      kept.getMetadata().getLabels().put("disk", "ssd");
      assertThat(nodes.resource(kept).update().getMetadata().getLabels()).containsEntry("procurator.dev/builder", "true");
      forbidden(() -> nodes.withName(name).patch(PatchContext.of(PatchType.JSON_MERGE),
          "{\"metadata\":{\"labels\":{\"procurator.dev/builder\":null}}}"), "procurator.dev/builder");
      forbidden(() -> nodes.withName(name).patch(PatchContext.of(PatchType.JSON_MERGE),
          "{\"metadata\":{\"labels\":{\"gpu.procurator.dev/model\":\"x\"}}}"), "gpu.procurator.dev/model");
    }
  }

  private static Lease lease(String namespace, String name, String holder) {
    return new LeaseBuilder().withNewMetadata().withName(name).withNamespace(namespace).endMetadata()
        .withNewSpec().withHolderIdentity(holder).withLeaseDurationSeconds(86_400).endSpec().build();
  }

  @Test
  void aNodeHoldsOnlyItsOwnHeartbeatLease() throws Exception {
    String name = TestNames.unique("node");
    api.client().leases().inNamespace("procurator-system").resource(lease("procurator-system", "procurator-controllers", "up-1"))
        .createOr(existing -> existing.update());
    try (KubernetesClient n = api.nodeClient(name)) {
      n.leases().inNamespace("procurator-node-lease").resource(lease("procurator-node-lease", name, name)).create();
      forbidden(() -> n.leases().inNamespace("procurator-node-lease").resource(lease("procurator-node-lease", "someone-else", name)).create(),
          "its own Lease");
      forbidden(() -> n.leases().inNamespace("procurator-system")
          .resource(lease("procurator-system", TestNames.unique("lease"), name)).create(), "leases");
      forbidden(() -> n.leases().inNamespace("procurator-system").withName("procurator-controllers")
          .edit(l -> { l.getSpec().setHolderIdentity(name); return l; }), "leases");
    }
    assertThat(api.client().leases().inNamespace("procurator-system").withName("procurator-controllers").get().getSpec().getHolderIdentity())
        .isEqualTo("up-1");
  }
}
