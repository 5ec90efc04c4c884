package dev.procurator.api.fields;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class FieldManagerTest {
  private static final String NOW = "2026-12-03T06:00:00Z";
  private static final String LATER = "2026-12-03T07:00:00Z";

  private static ObjectNode json(String s) {
    try {
      return (ObjectNode) new com.fasterxml.jackson.databind.ObjectMapper().readTree(s.replace('\'', '"'));
    } catch (java.io.IOException e) {
      throw new IllegalArgumentException(e);
    }
  }

  private static FieldManager.Path path(String dotted) {
    return new FieldManager.Path(List.of(dotted.substring(1).split("\\.")));
  }

  private static Set<FieldManager.Path> owned(JsonNode object, String manager) {
    return FieldManager.entries(object).stream().filter(e -> e.manager().equals(manager)).findFirst()
        .map(FieldManager.Entry::fields).orElse(Set.of());
  }

  @Test
  void fieldsAreLeavesWithListsAtomicAndServerMetadataLeftOut() {
    ObjectNode o = json("{'apiVersion':'v1','kind':'VM','metadata':{'name':'a','uid':'u','labels':{'app':'web'}},"
        + "'spec':{'cpu':1,'ports':[{'guest':80}],'boot':{'kernel':'k'}},'status':{'phase':'Running'}}");
    assertThat(FieldManager.fieldsOf(o)).containsExactlyInAnyOrder(path(".metadata.labels.app"), path(".spec.cpu"),
        path(".spec.ports"), path(".spec.boot.kernel"));
  }

  @Test
  void fieldsV1RoundTrips() {
    Set<FieldManager.Path> fields = Set.of(path(".spec.cpu"), path(".spec.boot.kernel"), path(".metadata.labels.app"));
    ObjectNode v1 = FieldManager.toFieldsV1(fields);
    assertThat(v1.toString()).contains("\"f:spec\"").contains("\"f:cpu\":{}");
    assertThat(FieldManager.fromFieldsV1(v1)).isEqualTo(fields);
  }

  @Test
  void applyCreatesAndOwnsExactlyWhatTheConfigSets() {
    var a = FieldManager.apply(null, json("{'apiVersion':'v1','kind':'VM','metadata':{'name':'a'},'spec':{'cpu':1}}"), "git", false, NOW);
    assertThat(a.conflicts()).isEmpty();
    assertThat(a.object().path("spec").path("cpu").asInt()).isEqualTo(1);
    assertThat(owned(a.object(), "git")).containsExactly(path(".spec.cpu"));
    assertThat(a.object().path("metadata").path("managedFields").get(0).path("operation").asText()).isEqualTo("Apply");
  }

  @Test
  void anotherManagersDifferentValueIsAConflictUnlessForced() {
    ObjectNode live = FieldManager.apply(null, json("{'apiVersion':'v1','kind':'VM','spec':{'cpu':1,'memory':'1Gi'}}"), "git", false, NOW).object();
    ObjectNode edited = live.deepCopy();
    ((ObjectNode) edited.get("spec")).put("cpu", 4);
    ArrayNode managed = FieldManager.update(live, edited, "kubectl-edit", true, LATER, "v1");
    ((ObjectNode) edited.get("metadata")).set("managedFields", managed);
    assertThat(owned(edited, "kubectl-edit")).containsExactly(path(".spec.cpu"));
    assertThat(owned(edited, "git")).containsExactly(path(".spec.memory"));

    ObjectNode config = json("{'apiVersion':'v1','kind':'VM','spec':{'cpu':1,'memory':'1Gi'}}");
    var refused = FieldManager.apply(edited, config, "git", false, LATER);
    assertThat(refused.object()).isNull();
    assertThat(refused.conflicts()).containsExactly(new FieldManager.Conflict(path(".spec.cpu"), "kubectl-edit"));

    var forced = FieldManager.apply(edited, config, "git", true, LATER);
    assertThat(forced.object().path("spec").path("cpu").asInt()).isEqualTo(1);
    assertThat(owned(forced.object(), "git")).contains(path(".spec.cpu"));
    assertThat(owned(forced.object(), "kubectl-edit")).isEmpty();
  }

  @Test
  void theSameValueIsSharedNotAConflict() {
    ObjectNode live = FieldManager.apply(null, json("{'apiVersion':'v1','kind':'VM','spec':{'cpu':2}}"), "a", false, NOW).object();
    var b = FieldManager.apply(live, json("{'apiVersion':'v1','kind':'VM','spec':{'cpu':2.0}}"), "b", false, NOW);
    assertThat(b.conflicts()).isEmpty();
    assertThat(owned(b.object(), "a")).containsExactly(path(".spec.cpu"));
    assertThat(owned(b.object(), "b")).containsExactly(path(".spec.cpu"));
  }

  @Test
  void aFieldTheApplierDropsIsRemovedUnlessSomeoneElseOwnsIt() {
    ObjectNode live = FieldManager.apply(null, json("{'apiVersion':'v1','kind':'VM','metadata':{'labels':{'a':'1','b':'2'}},'spec':{'cpu':1}}"),
        "git", false, NOW).object();
    live = FieldManager.apply(live, json("{'apiVersion':'v1','kind':'VM','metadata':{'labels':{'b':'2'}}}"), "other", false, NOW).object();
    ObjectNode after = FieldManager.apply(live, json("{'apiVersion':'v1','kind':'VM','spec':{'cpu':1}}"), "git", false, LATER).object();
    assertThat(after.path("metadata").path("labels").has("a")).isFalse();
    assertThat(after.path("metadata").path("labels").path("b").asText()).isEqualTo("2");
    assertThat(after.path("spec").path("cpu").asInt()).isEqualTo(1);
  }

  @Test
  void aFieldOthersSetIsLeftAloneByApply() {
    ObjectNode live = FieldManager.apply(null, json("{'apiVersion':'v1','kind':'VM','spec':{'cpu':1}}"), "git", false, NOW).object();
    ObjectNode scaled = live.deepCopy();
    ((ObjectNode) scaled.get("spec")).put("nodeName", "n1");
    ((ObjectNode) scaled.get("metadata")).set("managedFields", FieldManager.update(live, scaled, "scheduler", false, NOW, "v1"));
    ObjectNode after = FieldManager.apply(scaled, json("{'apiVersion':'v1','kind':'VM','spec':{'cpu':2}}"), "git", false, LATER).object();
    assertThat(after.path("spec").path("nodeName").asText()).isEqualTo("n1");
    assertThat(after.path("spec").path("cpu").asInt()).isEqualTo(2);
  }

  @Test
  void anApplyThatChangesNothingKeepsItsTime() {
    ObjectNode config = json("{'apiVersion':'v1','kind':'VM','spec':{'cpu':1}}");
    ObjectNode live = FieldManager.apply(null, config, "git", false, NOW).object();
    ObjectNode again = FieldManager.apply(live, config, "git", false, LATER).object();
    assertThat(FieldManager.same(again, live)).isTrue();
  }

  @Test
  void untrackedObjectsStayUntrackedUnlessTheRequestNamesItsManager() {
    ObjectNode a = json("{'spec':{'cpu':1}}");
    ObjectNode b = json("{'spec':{'cpu':2}}");
    assertThat(FieldManager.update(a, b, "fabric8-kubernetes-client", false, NOW, "v1")).isNull();
    assertThat(FieldManager.update(a, b, "kubectl-edit", true, NOW, "v1")).hasSize(1);
  }

  @Test
  void removedFieldsLeaveEveryOwner() {
    ObjectNode live = FieldManager.apply(null, json("{'apiVersion':'v1','kind':'VM','spec':{'cpu':1,'memory':'1Gi'}}"), "git", false, NOW).object();
    ObjectNode next = live.deepCopy();
    ((ObjectNode) next.get("spec")).remove("memory");
    ((ObjectNode) next.get("metadata")).set("managedFields", FieldManager.update(live, next, "kubectl-edit", true, LATER, "v1"));
    assertThat(owned(next, "git")).containsExactly(path(".spec.cpu"));
    assertThat(owned(next, "kubectl-edit")).isEmpty();
  }
}
