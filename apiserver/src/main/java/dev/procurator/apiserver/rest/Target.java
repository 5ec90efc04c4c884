package dev.procurator.apiserver.rest;

import dev.procurator.apiserver.resource.ResourceType;

/** A request's resource, resolved against the registry: its type, namespace, name and subresource (each may be null). */
record Target(ResourceType type, String namespace, String name, String subresource) {
  boolean status() {
    return "status".equals(subresource);
  }
}
