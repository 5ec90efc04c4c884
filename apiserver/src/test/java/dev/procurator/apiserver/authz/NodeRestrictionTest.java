package dev.procurator.apiserver.authz;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class NodeRestrictionTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String AGENT = "procurator.dev/node-agent";

  private static ObjectNode json(String s) throws Exception {
    return (ObjectNode) JSON.readTree(s.replace('\'', '"'));
  }

  /** VM web, bound to node a, mounting Secret db, as stored. */
  private static ObjectNode vm() throws Exception {
    return json("{'apiVersion':'procurator.dev/v1alpha1','kind':'VM','metadata':{'name':'web','namespace':'default','uid':'u1',"
        + "'resourceVersion':'7','generation':1,'labels':{'app':'web'}},"
        + "'spec':{'cpu':1,'nodeName':'a','secrets':[{'name':'db','mountPath':'/run/db'}]},'status':{'phase':'Running'}}");
  }

  private static String check(String resource, JsonNode old, JsonNode next) {
    return NodeRestriction.check("a", resource.equals("leases") ? "coordination.k8s.io" : "procurator.dev", resource, old, next);
  }

  @Test
  void aNodeChangesTheStatusOfItsVmAndAddsOrRemovesItsOwnFinalizer() throws Exception {
    ObjectNode next = vm();
    ((ObjectNode) next.get("status")).put("phase", "Failed");
    ((ObjectNode) next.get("metadata")).put("resourceVersion", "8").putArray("finalizers").add(AGENT);
    assertThat(check("vms", vm(), next)).isNull();
    assertThat(check("vms", next, vm())).as("its finalizer removed").isNull();
  }

  @Test
  void aNodeMayNotChangeItsVmsSpecOrMetadataNorAnotherFinalizer() throws Exception {
    ObjectNode mounts = vm();
    ((ArrayNode) mounts.get("spec").get("secrets")).addObject().put("name", "other").put("mountPath", "/run/other");
    assertThat(check("vms", vm(), mounts)).contains("not spec").contains("VM \"web\"");

    ObjectNode moved = vm();
    ((ObjectNode) moved.get("spec")).put("nodeName", "b");
    assertThat(check("vms", vm(), moved)).contains("not spec");

    ObjectNode labelled = vm();
    ((ObjectNode) labelled.get("metadata").get("labels")).put("app", "db");
    assertThat(check("vms", vm(), labelled)).contains("metadata.labels");

    ObjectNode held = vm();
    ((ObjectNode) held.get("metadata")).putArray("finalizers").add(AGENT).add("example.com/hold");
    assertThat(check("vms", vm(), held)).contains("metadata.finalizers");

    ObjectNode released = vm();
    ((ObjectNode) released.get("metadata")).putArray("finalizers").add("example.com/hold");
    assertThat(check("vms", released, vm())).as("another's finalizer removed").contains("metadata.finalizers");

    assertThat(check("vms", null, vm())).as("a create").contains("may not create");
  }

  @Test
  void numbersOfAnotherJavaTypeAreTheSameValue() throws Exception {
    ObjectNode next = vm();
    ((ObjectNode) next.get("spec")).put("cpu", 1L);
    assertThat(check("vms", vm(), next)).isNull();
  }

  @Test
  void aBuildStaysWhereItWasPlaced() throws Exception {
    ObjectNode build = json("{'metadata':{'name':'app','namespace':'default'},'spec':{'flake':'path:/src'},"
        + "'status':{'nodeName':'a','phase':'Building'}}");
    ObjectNode done = build.deepCopy();
    ((ObjectNode) done.get("status")).put("phase", "Succeeded");
    assertThat(check("builds", build, done)).isNull();
    ObjectNode moved = build.deepCopy();
    ((ObjectNode) moved.get("status")).put("nodeName", "b");
    assertThat(check("builds", build, moved)).contains("status.nodeName");
    ObjectNode retried = build.deepCopy();
    ((ObjectNode) retried.get("status")).put("phase", "Pending").remove("nodeName");
    assertThat(check("builds", build, retried)).as("given back to the queue").isNull();
  }

  @ParameterizedTest(name = "{0} → {1}: {2}")
  @CsvSource(nullValues = "-", delimiter = '|', value = {
      "-                                    | {'zone':'a'}                                   | ALLOW",
      "-                                    | {'procurator.dev/builder':'true'}              | DENY",
      "-                                    | {'gpu.procurator.dev/model':'x'}               | DENY",
      "-                                    | {'notprocurator.dev/x':'y'}                    | ALLOW",
      "{'procurator.dev/builder':'true'}    | {'procurator.dev/builder':'true','zone':'a'}   | ALLOW",
      "{'zone':'a'}                         | {'zone':'a','procurator.dev/builder':'true'}   | DENY",
      "{'procurator.dev/builder':'true'}    | {'procurator.dev/builder':'false'}             | DENY",
      "{'procurator.dev/builder':'true'}    | {}                                             | DENY",
  })
  void aNodeSetsNoLabelUnderProcuratorDevOnItself(String before, String after, String expected) throws Exception {
    ObjectNode old = before == null ? null : json("{'metadata':{'name':'a','labels':" + before + "}}");
    ObjectNode next = json("{'metadata':{'name':'a','labels':" + after + "}}");
    String why = check("nodes", old, next);
    if (expected.equals("ALLOW")) {
      assertThat(why).isNull();
    } else {
      assertThat(why).contains("procurator.dev/").contains("cluster admins");
    }
  }

  @Test
  void aNodeWritesOnlyItsOwnNode() throws Exception {
    assertThat(check("nodes", null, json("{'metadata':{'name':'b'}}"))).contains("nodes \"b\"");
  }

  @Test
  void aNodeHoldsOnlyItsOwnLeaseInTheNodeLeaseNamespace() throws Exception {
    assertThat(check("leases", null, json("{'metadata':{'name':'a','namespace':'procurator-node-lease'}}"))).isNull();
    assertThat(check("leases", null, json("{'metadata':{'name':'b','namespace':'procurator-node-lease'}}"))).contains("its own Lease");
    assertThat(check("leases", null, json("{'metadata':{'name':'procurator-controllers','namespace':'procurator-system'}}")))
        .contains("procurator-system/procurator-controllers");
    assertThat(check("leases", null, json("{'metadata':{'name':'a','namespace':'default'}}"))).isNotNull();
  }
}
