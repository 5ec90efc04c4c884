package dev.procurator.api.runtime;

import java.time.Duration;

/** A loop's own queue, handed to it when it is built: whatever finishes off the worker puts its key back here. */
public interface LoopQueue {
  void enqueue(ObjectKey key);

  void enqueueAfter(ObjectKey key, Duration delay);
}
