package dev.procurator.api.runtime;

import io.fabric8.kubernetes.api.model.HasMetadata;
import java.util.ArrayList;
import java.util.List;

/** Finalizer lists, as values: what an object's finalizers are with or without one of them. */
public final class Finalizers {
  private Finalizers() {}

  public static boolean has(HasMetadata object, String finalizer) {
    List<String> f = object.getMetadata().getFinalizers();
    return f != null && f.contains(finalizer);
  }

  /** The object's finalizers with {@code finalizer} added at the end, if it was not there. */
  public static List<String> with(HasMetadata object, String finalizer) {
    List<String> f = new ArrayList<>(object.getMetadata().getFinalizers() == null ? List.of() : object.getMetadata().getFinalizers());
    if (!f.contains(finalizer)) {
      f.add(finalizer);
    }
    return f;
  }

  /** The object's finalizers without {@code finalizer}. */
  public static List<String> without(HasMetadata object, String finalizer) {
    List<String> f = new ArrayList<>(object.getMetadata().getFinalizers() == null ? List.of() : object.getMetadata().getFinalizers());
    f.removeIf(finalizer::equals);
    return f;
  }

  public static boolean deleting(HasMetadata object) {
    return object.getMetadata().getDeletionTimestamp() != null;
  }
}
