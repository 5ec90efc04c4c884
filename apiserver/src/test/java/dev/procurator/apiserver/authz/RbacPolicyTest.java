package dev.procurator.apiserver.authz;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.procurator.apiserver.auth.UserInfo;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class RbacPolicyTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final UserInfo ALICE = new UserInfo("alice", List.of("devs"));
  private static final UserInfo BOB = new UserInfo("bob", List.of("viewers"));
  private static final UserInfo CAROL = new UserInfo("carol", List.of());

  private static JsonNode json(String s) {
    try {
      return JSON.readTree(s.replace('\'', '"'));
    } catch (Exception e) {
      throw new IllegalArgumentException(e);
    }
  }

  private static final RbacPolicy POLICY = RbacPolicy.of(
      List.of(DefaultRoles.clusterRoleObjects().toArray(JsonNode[]::new)),
      List.of(json("{'metadata':{'name':'vm-reader','namespace':'team'},'rules':[{'apiGroups':['procurator.dev'],'resources':['vms'],'verbs':['get'],'resourceNames':['web']}]}")),
      List.of(json("{'metadata':{'name':'devs'},'roleRef':{'kind':'ClusterRole','name':'developer'},'subjects':[{'kind':'Group','name':'devs'}]}"),
          json("{'metadata':{'name':'viewers'},'roleRef':{'kind':'ClusterRole','name':'viewer'},'subjects':[{'kind':'Group','name':'viewers'}]}"),
          json("{'metadata':{'name':'dangling'},'roleRef':{'kind':'ClusterRole','name':'nothing'},'subjects':[{'kind':'User','name':'carol'}]}")),
      List.of(json("{'metadata':{'name':'carol-web','namespace':'team'},'roleRef':{'kind':'Role','name':'vm-reader'},'subjects':[{'kind':'User','name':'carol'}]}"),
          json("{'metadata':{'name':'carol-admin','namespace':'sandbox'},'roleRef':{'kind':'ClusterRole','name':'admin'},'subjects':[{'kind':'User','name':'carol'}]}")));

  private static UserInfo user(String name) {
    return switch (name) {
      case "alice" -> ALICE;
      case "bob" -> BOB;
      default -> CAROL;
    };
  }

  @ParameterizedTest(name = "{0} {1} {2}/{3} in {4} named {5}: {6}")
  @CsvSource(nullValues = "-", value = {
      // developer: workloads yes, Secrets written but not read, no Nodes, no RBAC
      "alice, create, procurator.dev, vms, default, -, true",
      "alice, delete, procurator.dev, clusters, prod, web, true",
      "alice, get, procurator.dev, vms/log, prod, web, true",
      "alice, create, procurator.dev, secrets, default, -, true",
      "alice, get, procurator.dev, secrets, default, db, false",
      "alice, list, procurator.dev, secrets, default, -, false",
      "alice, get, procurator.dev, nodes, -, n1, false",
      "alice, create, rbac.authorization.k8s.io, clusterrolebindings, -, -, false",
      // viewer: reads only, never Secrets
      "bob, list, procurator.dev, vms, default, -, true",
      "bob, watch, procurator.dev, nodes, -, -, true",
      "bob, create, procurator.dev, vms, default, -, false",
      "bob, get, procurator.dev, secrets, default, db, false",
      "bob, patch, procurator.dev, vms/status, default, web, false",
      // a RoleBinding grants in its namespace only, and only the named object
      "carol, get, procurator.dev, vms, team, web, true",
      "carol, get, procurator.dev, vms, team, db, false",
      "carol, get, procurator.dev, vms, other, web, false",
      "carol, delete, procurator.dev, secrets, sandbox, x, true",
      "carol, delete, procurator.dev, secrets, team, x, false",
      // a binding to a missing role grants nothing
      "carol, list, procurator.dev, clusters, -, -, false",
  })
  void decides(String who, String verb, String group, String resource, String namespace, String name, boolean allowed) {
    String sub = resource.contains("/") ? resource.substring(resource.indexOf('/') + 1) : null;
    String plural = resource.contains("/") ? resource.substring(0, resource.indexOf('/')) : resource;
    assertThat(POLICY.allows(Attributes.resource(user(who), verb, group, plural, sub, namespace, name))).isEqualTo(allowed);
  }

  @Test
  void aDeveloperHoldsNotWhatAdminGrants() {
    List<Rule> held = POLICY.rulesFor(ALICE, "default");
    assertThat(RbacPolicy.uncovered(held, POLICY.role("ClusterRole", null, "admin"))).isNotEmpty();
    assertThat(RbacPolicy.uncovered(held, POLICY.role("ClusterRole", null, "developer"))).isEmpty();
    // a wildcard is covered only by a wildcard
    assertThat(RbacPolicy.uncovered(held, List.of(Rule.resources(List.of("procurator.dev"), List.of("*"), List.of("get"))))).hasSize(1);
    assertThat(RbacPolicy.uncovered(held, List.of(Rule.resources(List.of("procurator.dev"), List.of("vms"), List.of("get", "delete"))))).isEmpty();
  }

  @Test
  void groupsAndSystemAuthenticatedBindToo() {
    RbacPolicy p = RbacPolicy.of(List.of(DefaultRoles.clusterRoleObjects().toArray(JsonNode[]::new)), List.of(),
        List.of(json("{'metadata':{'name':'all'},'roleRef':{'kind':'ClusterRole','name':'viewer'},'subjects':[{'kind':'Group','name':'system:authenticated'}]}")),
        List.of());
    assertThat(p.allows(Attributes.resource(CAROL, "list", "procurator.dev", "vms", null, "x", null))).isTrue();
  }
}
