package dev.procurator.controllers.gc;

import dev.procurator.api.runtime.ObjectKey;

/** An object the garbage collector looks at: its kind and its key. */
public record GcKey(GcKind kind, ObjectKey key) {
  @Override
  public String toString() {
    return kind.kind() + " " + key;
  }
}
