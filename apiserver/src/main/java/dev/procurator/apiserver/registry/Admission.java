package dev.procurator.apiserver.registry;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.procurator.apiserver.resource.ResourceType;

/**
 * A check of the object a write is about to store, after defaults and validation, for rules that
 * depend on who writes it (escalation through RBAC objects, what a node may change). Throws an
 * {@link ApiException} to refuse the write.
 */
@FunctionalInterface
public interface Admission {
  void admit(ResourceType type, ObjectNode object);
}
