package dev.procurator.apiserver.rest;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.procurator.apiserver.registry.ApiException;
import dev.procurator.apiserver.registry.FieldSelector;
import dev.procurator.apiserver.registry.Json;
import dev.procurator.apiserver.registry.LabelSelector;
import dev.procurator.apiserver.watch.CachedEvent;
import dev.procurator.apiserver.watch.Subscriber;
import io.vertx.core.Context;
import java.util.ArrayDeque;
import java.util.List;

/**
 * One client's watch stream: JSON frames {@code {"type":...,"object":...}} on a chunked HTTP
 * response or a WebSocket. Events are queued (bounded) and written on the connection's event loop as the
 * socket accepts them; a client that lets the queue fill is ended with an ERROR frame carrying
 * 410 Gone.
 */
final class HttpWatch implements Subscriber {
  private final WatchSink sink;
  private final Context context;
  private final String keyPrefix;
  private final LabelSelector labels;
  private final FieldSelector fields;
  private final TableConverter table;
  private final String includeObject;
  private final boolean bookmarks;
  private final String apiVersion;
  private final String kind;
  private final int limit;
  private final ArrayDeque<byte[]> queue = new ArrayDeque<>();
  private long lastRevision;
  private boolean scheduled;
  private boolean opened;
  private boolean ended;
  private Runnable onEnd = () -> { };

  HttpWatch(WatchSink sink, Context context, String keyPrefix, LabelSelector labels, FieldSelector fields,
      TableConverter table, String includeObject, boolean bookmarks, String apiVersion, String kind, int limit, long afterRevision) {
    this.sink = sink;
    this.context = context;
    this.keyPrefix = keyPrefix;
    this.labels = labels;
    this.fields = fields;
    this.table = table;
    this.includeObject = includeObject;
    this.bookmarks = bookmarks;
    this.apiVersion = apiVersion;
    this.kind = kind;
    this.limit = limit;
    this.lastRevision = afterRevision;
  }

  void onEnd(Runnable r) {
    this.onEnd = r;
  }

  @Override
  public String keyPrefix() {
    return keyPrefix;
  }

  private boolean selects(ObjectNode o) {
    return o != null && labels.test(o) && fields.test(o);
  }

  /** Synthetic ADDED events for the objects that exist when the watch starts (no resourceVersion given). */
  synchronized void initial(List<byte[]> objects) {
    for (byte[] o : objects) {
      enqueue("ADDED", o, null);
    }
    schedule();
  }

  @Override
  public synchronized boolean offer(CachedEvent e) {
    if (ended) {
      return true;
    }
    if (e.revision() <= lastRevision) {
      return true;
    }
    lastRevision = e.revision();
    String type = e.type();
    boolean filtered = !labels.isEmpty() || !fields.isEmpty();
    if (filtered) {
      boolean now = selects(e.parsed());
      boolean before = e.hasPrevious() && selects(e.parsedPrevious());
      if ("MODIFIED".equals(type)) {
        if (now && !before) {
          type = "ADDED";
        } else if (!now && before) {
          type = "DELETED";
        } else if (!now) {
          return true;
        }
      } else if (!now) {
        return true;
      }
    }
    if (queue.size() >= limit) {
      return false;
    }
    if (table == null && type.equals(e.type())) {
      queue.add(e.frame());
    } else {
      enqueue(type, e.object(), e.parsed());
    }
    schedule();
    return true;
  }

  private void enqueue(String type, byte[] object, ObjectNode parsed) {
    if (table == null) {
      queue.add(CachedEvent.frame(type, object));
      return;
    }
    ObjectNode o = parsed != null ? parsed : Json.readStored(object);
    ObjectNode t = table.table(List.of(o), o.path("metadata").path("resourceVersion").asText(), null, includeObject);
    queue.add(CachedEvent.frame(type, Json.bytes(t)));
  }

  @Override
  public synchronized void bookmark(long revision) {
    if (!bookmarks || ended || revision < lastRevision) {
      return;
    }
    ObjectNode o = Json.object().put("kind", kind).put("apiVersion", apiVersion);
    o.putObject("metadata").put("resourceVersion", Long.toString(Math.max(revision, lastRevision)));
    queue.add(CachedEvent.frame("BOOKMARK", Json.bytes(o)));
    schedule();
  }

  @Override
  public void terminate(ApiException reason) {
    byte[] error = CachedEvent.frame("ERROR", Json.bytes(reason.status()));
    finish(error);
  }

  /** Ends the stream normally (timeout or shutdown). */
  void close() {
    finish(null);
  }

  private void finish(byte[] lastFrame) {
    synchronized (this) {
      if (ended) {
        return;
      }
      ended = true;
      queue.clear();
    }
    context.runOnContext(v -> {
      sink.end(lastFrame);
      onEnd.run();
    });
  }

  /** The client went away. */
  synchronized void disconnected() {
    ended = true;
    queue.clear();
  }

  /** On the event loop: sends the head, then whatever is queued. */
  void open() {
    sink.open();
    synchronized (this) {
      opened = true;
    }
    schedule();
  }

  private synchronized void schedule() {
    if (opened && !scheduled) {
      scheduled = true;
      context.runOnContext(v -> drain());
    }
  }

  /** Runs on the event loop: writes what the socket will take now, then waits for drain. */
  private void drain() {
    while (true) {
      byte[] frame;
      synchronized (this) {
        if (sink.closed()) {
          queue.clear();
          scheduled = false;
          return;
        }
        if (sink.writeQueueFull()) {
          sink.drainHandler(this::drain);
          return;
        }
        frame = queue.poll();
        if (frame == null) {
          scheduled = false;
          return;
        }
      }
      sink.write(frame);
    }
  }
}
