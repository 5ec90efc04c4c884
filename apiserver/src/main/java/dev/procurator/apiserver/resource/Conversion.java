package dev.procurator.apiserver.resource;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * How objects of a type reach storage and come back, for a type whose stored form differs from
 * what it serves: {@code events.k8s.io/v1} Events are kept as core {@code v1} Events, so one
 * object is visible through both APIs, as in Kubernetes. Both directions may change their
 * argument in place and return it.
 */
public interface Conversion {
  /** The object as clients sent it, in the form it is stored in. */
  ObjectNode toStorage(ObjectNode served);

  /** The stored object as clients of this type see it. */
  ObjectNode toServed(ObjectNode stored);
}
