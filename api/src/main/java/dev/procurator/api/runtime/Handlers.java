package dev.procurator.api.runtime;

import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import java.util.function.Consumer;

/** Informer handlers that level-triggered loops need: something changed, whatever it was. */
public final class Handlers {
  private Handlers() {}

  /** Calls {@code changed} with the object on every add and update; a deletion is not told. */
  public static <T> ResourceEventHandler<T> onAddOrUpdate(Consumer<T> changed) {
    return handler(changed, false);
  }

  /** Calls {@code changed} with the object on every add, update and delete. */
  public static <T> ResourceEventHandler<T> onEveryChange(Consumer<T> changed) {
    return handler(changed, true);
  }

  /** Calls {@code updated} with the object before and after every update; adds and deletes are not told. */
  public static <T> ResourceEventHandler<T> onUpdate(java.util.function.BiConsumer<T, T> updated) {
    return new ResourceEventHandler<>() {
      @Override
      public void onAdd(T obj) {}

      @Override
      public void onUpdate(T oldObj, T newObj) {
        updated.accept(oldObj, newObj);
      }

      @Override
      public void onDelete(T obj, boolean deletedFinalStateUnknown) {}
    };
  }

  /** Calls {@code deleted} with every deleted object; adds and updates are not told. */
  public static <T> ResourceEventHandler<T> onDelete(Consumer<T> deleted) {
    return new ResourceEventHandler<>() {
      @Override
      public void onAdd(T obj) {}

      @Override
      public void onUpdate(T oldObj, T newObj) {}

      @Override
      public void onDelete(T obj, boolean deletedFinalStateUnknown) {
        deleted.accept(obj);
      }
    };
  }

  private static <T> ResourceEventHandler<T> handler(Consumer<T> changed, boolean deletions) {
    return new ResourceEventHandler<>() {
      @Override
      public void onAdd(T obj) {
        changed.accept(obj);
      }

      @Override
      public void onUpdate(T oldObj, T newObj) {
        changed.accept(newObj);
      }

      @Override
      public void onDelete(T obj, boolean deletedFinalStateUnknown) {
        if (deletions) {
          changed.accept(obj);
        }
      }
    };
  }
}
