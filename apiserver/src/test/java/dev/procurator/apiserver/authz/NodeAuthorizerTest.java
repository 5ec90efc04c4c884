package dev.procurator.apiserver.authz;

import static org.assertj.core.api.Assertions.assertThat;

import dev.procurator.apiserver.auth.UserInfo;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class NodeAuthorizerTest {
  private static final UserInfo A = new UserInfo("system:node:a", List.of("system:nodes"));

  /** VM web on a mounting Secret db; VM other on b mounting Secret b-db; Build app on a from repo src with cache Secret push. */
  private static final NodeAuthorizer.Graph GRAPH = new NodeAuthorizer.Graph() {
    private final Map<String, String> vms = Map.of("web", "a", "other", "b");

    @Override
    public boolean vmBoundTo(String node, String namespace, String name) {
      return "default".equals(namespace) && node.equals(vms.get(name));
    }

    @Override
    public boolean buildOn(String node, String namespace, String name) {
      return "default".equals(namespace) && "app".equals(name) && "a".equals(node);
    }

    @Override
    public boolean secretUsedBy(String node, String namespace, String name) {
      return "default".equals(namespace) && (("a".equals(node) && List.of("db", "push").contains(name)) || ("b".equals(node) && "b-db".equals(name)));
    }

    @Override
    public boolean repositoryUsedBy(String node, String namespace, String name) {
      return "a".equals(node) && "src".equals(name);
    }
  };

  @ParameterizedTest(name = "{0} {1}/{2} {3} {4} [{5}]: {6}")
  @CsvSource(nullValues = "-", value = {
      "get, procurator.dev, vms, default, web, -, ALLOW",
      "get, procurator.dev, vms, default, other, -, DENY",
      "list, procurator.dev, vms, -, -, spec.nodeName=a, ALLOW",
      "watch, procurator.dev, vms, -, -, spec.nodeName=b, DENY",
      "list, procurator.dev, vms, -, -, -, DENY",
      "patch, procurator.dev, vms/status, default, web, -, ALLOW",
      "update, procurator.dev, vms/status, default, other, -, DENY",
      "update, procurator.dev, vms, default, web, -, ALLOW",
      "delete, procurator.dev, vms, default, web, -, DENY",
      "get, procurator.dev, secrets, default, db, -, ALLOW",
      "get, procurator.dev, secrets, default, b-db, -, DENY",
      "watch, procurator.dev, secrets, default, -, metadata.name=db, ALLOW",
      "watch, procurator.dev, secrets, default, -, metadata.name=b-db, DENY",
      "list, procurator.dev, secrets, -, -, -, DENY",
      "get, procurator.dev, secrets, default, push, -, ALLOW",
      "get, procurator.dev, gitrepositories, default, src, -, ALLOW",
      "get, procurator.dev, gitrepositories, default, other, -, DENY",
      "list, procurator.dev, builds, -, -, status.nodeName=a, ALLOW",
      "patch, procurator.dev, builds/status, default, app, -, ALLOW",
      "patch, procurator.dev, builds, default, app, -, DENY",
      "get, procurator.dev, nodes, -, b, -, ALLOW",
      "update, procurator.dev, nodes/status, -, a, -, ALLOW",
      "update, procurator.dev, nodes, -, b, -, DENY",
      "patch, procurator.dev, nodes/status, -, b, -, DENY",
      "update, coordination.k8s.io, leases, procurator-node-lease, a, -, ALLOW",
      "get, coordination.k8s.io, leases, procurator-node-lease, a, -, ALLOW",
      "update, coordination.k8s.io, leases, procurator-node-lease, b, -, DENY",
      "create, coordination.k8s.io, leases, procurator-node-lease, -, -, ALLOW",
      "create, coordination.k8s.io, leases, procurator-system, -, -, DENY",
      "update, coordination.k8s.io, leases, procurator-system, a, -, DENY",
      "update, coordination.k8s.io, leases, procurator-system, procurator-controllers, -, DENY",
      "delete, coordination.k8s.io, leases, procurator-node-lease, a, -, DENY",
      "create, '', events, default, -, -, ALLOW",
      "create, procurator.dev, clusters, default, -, -, DENY",
      "list, procurator.dev, clusters, -, -, -, DENY",
      "list, procurator.dev, binarycaches, -, -, -, ALLOW",
      "get, procurator.dev, binarycaches, -, pctl-up, -, ALLOW",
      "create, procurator.dev, binarycaches, -, -, -, DENY",
      "delete, procurator.dev, binarycaches, -, pctl-up, -, DENY",
      "create, authorization.k8s.io, subjectaccessreviews, -, -, -, ALLOW",
  })
  void confinesANodeToWhatIsBoundToIt(String verb, String group, String resource, String namespace, String name, String selector,
      Decision.Kind expected) {
    String sub = resource.contains("/") ? resource.substring(resource.indexOf('/') + 1) : null;
    String plural = resource.contains("/") ? resource.substring(0, resource.indexOf('/')) : resource;
    Attributes a = Attributes.resource(A, verb, group, plural, sub, namespace, name).withFieldSelector(selector);
    assertThat(NodeAuthorizer.decide(a, GRAPH).kind()).isEqualTo(expected);
  }

  @Test
  void usersThatAreNoNodesGetNoOpinion() {
    UserInfo bob = new UserInfo("system:node:a", List.of("devs")); // the name alone does not make a node
    assertThat(NodeAuthorizer.decide(Attributes.resource(bob, "get", "procurator.dev", "vms", null, "default", "web"), GRAPH).kind())
        .isEqualTo(Decision.Kind.NO_OPINION);
  }
}
