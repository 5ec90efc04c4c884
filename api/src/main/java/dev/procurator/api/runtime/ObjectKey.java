package dev.procurator.api.runtime;

import io.fabric8.kubernetes.api.model.HasMetadata;
import java.util.Objects;

/**
 * What a control loop is asked to look at: an object's namespace (null for cluster-scoped kinds)
 * and name, after controller-runtime's {@code reconcile.Request}. Its text form is kubectl's and
 * client-go's {@code namespace/name}, or just {@code name} without a namespace.
 */
public record ObjectKey(String namespace, String name) implements Comparable<ObjectKey> {
  public ObjectKey {
    Objects.requireNonNull(name, "name");
    if (name.isEmpty() || name.indexOf('/') >= 0) {
      throw new IllegalArgumentException("an object name is not empty and has no '/': \"" + name + "\"");
    }
    if (namespace != null && (namespace.isEmpty() || namespace.indexOf('/') >= 0)) {
      throw new IllegalArgumentException("a namespace is not empty and has no '/': \"" + namespace + "\"");
    }
  }

  /** A key in a namespace. */
  public static ObjectKey of(String namespace, String name) {
    return new ObjectKey(namespace, name);
  }

  /** The key of a cluster-scoped object. */
  public static ObjectKey cluster(String name) {
    return new ObjectKey(null, name);
  }

  /** The key of {@code object}. */
  public static ObjectKey of(HasMetadata object) {
    return new ObjectKey(object.getMetadata().getNamespace(), object.getMetadata().getName());
  }

  /** Reads {@code namespace/name} or {@code name}. */
  public static ObjectKey parse(String text) {
    int slash = text.indexOf('/');
    return slash < 0 ? new ObjectKey(null, text) : new ObjectKey(text.substring(0, slash), text.substring(slash + 1));
  }

  public boolean namespaced() {
    return namespace != null;
  }

  @Override
  public int compareTo(ObjectKey o) {
    return toString().compareTo(o.toString());
  }

  @Override
  public String toString() {
    return namespace == null ? name : namespace + "/" + name;
  }
}
