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
  /**
   * @param old the object as stored now, as it is served; null when the write creates it
   * @param object what the write would store (do not change it)
   */
  void admit(ResourceType type, ObjectNode old, ObjectNode object);
}
