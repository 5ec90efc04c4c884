package dev.procurator.apiserver.storage;

import dev.procurator.api.files.PrivateFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Durable storage in one SQLite database for a single host, laid out the way kine maps etcd onto
 * SQL: an append-only {@code log} of every revision plus a {@code kv} table of the current value
 * of each key.
 *
 * <p>All writes go through one writer thread that commits them in batches (group commit): every
 * write in a batch is fsynced to the WAL before any of them is acknowledged, so an acknowledged
 * write survives kill -9 and power loss alike. Reads use a small pool of read connections and see
 * a consistent snapshot per call.
 *
 * <p>Thread-safe. Watch listeners are called from one delivery thread per watch.
 */
public final class SqliteStorage implements Storage {
  private static final Logger log = LoggerFactory.getLogger(SqliteStorage.class);
  private static final int MAX_BATCH = 512;
  private static final int READERS = 4;

  private final Connection writer;
  private PreparedStatement selectCurrent;
  private PreparedStatement insertLog;
  private PreparedStatement deleteKv;
  private PreparedStatement upsertKv;
  private PreparedStatement updateRevision;
  private final BlockingQueue<Connection> readers = new ArrayBlockingQueue<>(READERS);
  private final LinkedBlockingQueue<WriteOp> writes = new LinkedBlockingQueue<>();
  private final CopyOnWriteArrayList<SqliteWatch> watches = new CopyOnWriteArrayList<>();
  private final Thread writerThread;
  private volatile long revision;
  private volatile long compactedRevision;
  private volatile boolean closed;

  private SqliteStorage(Path file) throws SQLException {
    String url = "jdbc:sqlite:" + file;
    writer = DriverManager.getConnection(url);
    try (Statement s = writer.createStatement()) {
      s.execute("PRAGMA journal_mode=WAL");
      s.execute("PRAGMA synchronous=FULL");
      s.execute("PRAGMA busy_timeout=10000");
      s.execute("CREATE TABLE IF NOT EXISTS log (rev INTEGER PRIMARY KEY, key TEXT NOT NULL,"
          + " create_rev INTEGER NOT NULL, prev_rev INTEGER NOT NULL, deleted INTEGER NOT NULL, value BLOB)");
      s.execute("CREATE INDEX IF NOT EXISTS log_key_rev ON log (key, rev)");
      s.execute("CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, create_rev INTEGER NOT NULL,"
          + " mod_rev INTEGER NOT NULL, value BLOB NOT NULL) WITHOUT ROWID");
      s.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL)");
      s.execute("INSERT OR IGNORE INTO meta VALUES ('revision', 0), ('compacted', 0)");
    }
    writer.setAutoCommit(false);
    selectCurrent = writer.prepareStatement("SELECT create_rev, mod_rev, value FROM kv WHERE key = ?");
    insertLog = writer.prepareStatement("INSERT INTO log (rev, key, create_rev, prev_rev, deleted, value) VALUES (?, ?, ?, ?, ?, ?)");
    deleteKv = writer.prepareStatement("DELETE FROM kv WHERE key = ?");
    upsertKv = writer.prepareStatement("INSERT INTO kv (key, create_rev, mod_rev, value) VALUES (?, ?, ?, ?)"
        + " ON CONFLICT (key) DO UPDATE SET mod_rev = excluded.mod_rev, value = excluded.value");
    updateRevision = writer.prepareStatement("UPDATE meta SET value = ? WHERE name = 'revision'");
    revision = meta("revision");
    compactedRevision = meta("compacted");
    for (int i = 0; i < READERS; i++) {
      Connection c = DriverManager.getConnection(url);
      try (Statement s = c.createStatement()) {
        s.execute("PRAGMA busy_timeout=10000");
        s.execute("PRAGMA query_only=true");
      }
      readers.add(c);
    }
    writerThread = Thread.ofPlatform().name("sqlite-writer").daemon(true).start(this::writeLoop);
  }

  /**
   * Opens (creating if needed) the database {@code procurator.db} in {@code dir}. The folder is the
   * owner's only (0700) and the database 0600 from its first byte: it is made empty with that mode
   * before SQLite opens it, and SQLite gives its {@code -wal} and {@code -shm} files the database's
   * mode. Files of an older, looser store are tightened.
   */
  public static SqliteStorage open(Path dir) {
    try {
      PrivateFiles.privateDirectory(dir);
      Path db = dir.resolve("procurator.db");
      PrivateFiles.createFile(db);
      for (Path f : List.of(db, dir.resolve("procurator.db-wal"), dir.resolve("procurator.db-shm"), dir.resolve("procurator.db-journal"))) {
        if (Files.exists(f)) {
          PrivateFiles.restrict(f, PrivateFiles.OWNER_READ_WRITE);
        }
      }
      return new SqliteStorage(db);
    } catch (Exception e) {
      throw new StorageException.Unavailable("cannot open the embedded store in " + dir + ": " + e.getMessage(), e);
    }
  }

  private long meta(String name) throws SQLException {
    try (PreparedStatement p = writer.prepareStatement("SELECT value FROM meta WHERE name = ?")) {
      p.setString(1, name);
      try (ResultSet r = p.executeQuery()) {
        return r.next() ? r.getLong(1) : 0;
      }
    }
  }

  // ---- writes: one thread, group commit ----

  private sealed interface WriteOp {
    CompletableFuture<Long> done();
  }

  private record Create(String key, byte[] value, CompletableFuture<Long> done) implements WriteOp {}

  private record Update(String key, long expected, byte[] value, CompletableFuture<Long> done) implements WriteOp {}

  private record Delete(String key, long expected, CompletableFuture<Long> done) implements WriteOp {}

  private record Compact(long revision, CompletableFuture<Long> done) implements WriteOp {}

  /** A watch's request for progress: answered by the writer, after the events of every write before it. */
  private record Progress(SqliteWatch watch, CompletableFuture<Long> done) implements WriteOp {}

  private CompletableFuture<Long> submit(WriteOp op) {
    if (closed) {
      return CompletableFuture.failedFuture(new StorageException.Unavailable("the embedded store is closed", null));
    }
    writes.add(op);
    return op.done();
  }

  @Override
  public CompletableFuture<Long> createAsync(String key, byte[] value) {
    return Storage.sizeChecked(key, value, () -> submit(new Create(key, value, new CompletableFuture<>())));
  }

  @Override
  public CompletableFuture<Long> updateAsync(String key, long expectedModRevision, byte[] value) {
    return Storage.sizeChecked(key, value, () -> submit(new Update(key, expectedModRevision, value, new CompletableFuture<>())));
  }

  @Override
  public long delete(String key, long expectedModRevision) {
    return Storage.await(submit(new Delete(key, expectedModRevision, new CompletableFuture<>())));
  }

  @Override
  public void compact(long rev) {
    Storage.await(submit(new Compact(rev, new CompletableFuture<>())));
  }

  private record Outcome(WriteOp op, long revision, RuntimeException failure, WatchEvent event) {}

  private void writeLoop() {
    List<WriteOp> batch = new ArrayList<>(MAX_BATCH);
    while (!closed || !writes.isEmpty()) {
      try {
        WriteOp first = writes.poll(200, TimeUnit.MILLISECONDS);
        if (first == null) {
          continue;
        }
        batch.add(first);
        writes.drainTo(batch, MAX_BATCH - 1);
        commitBatch(batch);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (RuntimeException e) {
        log.error("embedded store writer failed", e);
      } finally {
        batch.clear();
      }
    }
  }

  private void commitBatch(List<WriteOp> batch) {
    long startRevision = revision;
    List<Outcome> outcomes = new ArrayList<>(batch.size());
    try {
      long rev = startRevision;
      for (WriteOp op : batch) {
        Outcome o = apply(op, rev);
        if (o.failure == null && o.event != null) {
          rev = o.revision;
        }
        outcomes.add(o);
      }
      if (rev != startRevision) {
        updateRevision.setLong(1, rev);
        updateRevision.executeUpdate();
      }
      writer.commit();
      revision = rev;
    } catch (SQLException | RuntimeException e) {
      try {
        writer.rollback();
      } catch (SQLException ignored) {
        // the connection is unusable; every op below fails and the next batch tries again
      }
      StorageException failure = new StorageException.Unavailable("embedded store write failed: " + e.getMessage(), e);
      batch.forEach(op -> op.done().completeExceptionally(failure));
      return;
    }
    for (Outcome o : outcomes) {
      if (o.failure != null) {
        o.op.done().completeExceptionally(o.failure);
      } else {
        if (o.event != null) {
          for (SqliteWatch w : watches) {
            w.offer(o.event);
          }
        }
        if (o.op instanceof Progress p) {
          p.watch().offerProgress(o.revision); // after every event at or before it was offered
        }
        o.op.done().complete(o.revision);
      }
    }
  }

  private Outcome apply(WriteOp op, long rev) throws SQLException {
    return switch (op) {
      case Create c -> {
        KeyValue existing = current(c.key);
        if (existing != null) {
          yield new Outcome(op, 0, new StorageException.KeyExists(c.key), null);
        }
        KeyValue kv = new KeyValue(c.key, c.value, rev + 1, rev + 1);
        append(kv, 0, false);
        yield new Outcome(op, rev + 1, null, new WatchEvent.Put(kv, null));
      }
      case Update u -> {
        KeyValue existing = current(u.key);
        if (existing == null) {
          yield new Outcome(op, 0, new StorageException.NotFound(u.key), null);
        }
        if (existing.modRevision() != u.expected) {
          yield new Outcome(op, 0, new StorageException.Conflict(u.key, u.expected, existing), null);
        }
        KeyValue kv = new KeyValue(u.key, u.value, existing.createRevision(), rev + 1);
        append(kv, existing.modRevision(), false);
        yield new Outcome(op, rev + 1, null, new WatchEvent.Put(kv, existing));
      }
      case Delete d -> {
        KeyValue existing = current(d.key);
        if (existing == null) {
          yield new Outcome(op, 0, new StorageException.NotFound(d.key), null);
        }
        if (d.expected != 0 && existing.modRevision() != d.expected) {
          yield new Outcome(op, 0, new StorageException.Conflict(d.key, d.expected, existing), null);
        }
        append(new KeyValue(d.key, new byte[0], existing.createRevision(), rev + 1), existing.modRevision(), true);
        yield new Outcome(op, rev + 1, null, new WatchEvent.Delete(existing, rev + 1));
      }
      case Progress p -> new Outcome(op, rev, null, null);
      case Compact c -> {
        long target = Math.min(c.revision, rev);
        if (target > compactedRevision) {
          try (PreparedStatement p = writer.prepareStatement(
              "DELETE FROM log WHERE rev <= ? AND (deleted = 1 OR EXISTS"
                  + " (SELECT 1 FROM log n WHERE n.key = log.key AND n.rev > log.rev AND n.rev <= ?))")) {
            p.setLong(1, target);
            p.setLong(2, target);
            p.executeUpdate();
          }
          try (PreparedStatement p = writer.prepareStatement("UPDATE meta SET value = ? WHERE name = 'compacted'")) {
            p.setLong(1, target);
            p.executeUpdate();
          }
          compactedRevision = target;
        }
        yield new Outcome(op, target, null, null);
      }
    };
  }

  private KeyValue current(String key) throws SQLException {
    selectCurrent.setString(1, key);
    try (ResultSet r = selectCurrent.executeQuery()) {
      return r.next() ? new KeyValue(key, r.getBytes(3), r.getLong(1), r.getLong(2)) : null;
    }
  }

  private void append(KeyValue kv, long prevRev, boolean deleted) throws SQLException {
    insertLog.setLong(1, kv.modRevision());
    insertLog.setString(2, kv.key());
    insertLog.setLong(3, kv.createRevision());
    insertLog.setLong(4, prevRev);
    insertLog.setInt(5, deleted ? 1 : 0);
    insertLog.setBytes(6, deleted ? null : kv.value());
    insertLog.executeUpdate();
    if (deleted) {
      deleteKv.setString(1, kv.key());
      deleteKv.executeUpdate();
    } else {
      upsertKv.setString(1, kv.key());
      upsertKv.setLong(2, kv.createRevision());
      upsertKv.setLong(3, kv.modRevision());
      upsertKv.setBytes(4, kv.value());
      upsertKv.executeUpdate();
    }
  }

  // ---- reads ----

  private interface ReadTx<T> {
    T run(Connection c) throws SQLException;
  }

  private <T> T read(ReadTx<T> tx) {
    if (closed) {
      throw new StorageException.Unavailable("the embedded store is closed", null);
    }
    Connection c;
    try {
      c = readers.take();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StorageException.Unavailable("interrupted", e);
    }
    try {
      c.setAutoCommit(false);
      try {
        return tx.run(c);
      } finally {
        c.rollback();
        c.setAutoCommit(true);
      }
    } catch (SQLException e) {
      throw new StorageException.Unavailable("embedded store read failed: " + e.getMessage(), e);
    } finally {
      readers.add(c);
    }
  }

  @Override
  public Optional<KeyValue> get(String key) {
    return read(c -> {
      try (PreparedStatement p = c.prepareStatement("SELECT create_rev, mod_rev, value FROM kv WHERE key = ?")) {
        p.setString(1, key);
        try (ResultSet r = p.executeQuery()) {
          return r.next() ? Optional.of(new KeyValue(key, r.getBytes(3), r.getLong(1), r.getLong(2))) : Optional.empty();
        }
      }
    });
  }

  @Override
  public ListPage list(String prefix, String startKey, long atRevision, int limit) {
    String from = startKey == null || startKey.compareTo(prefix) < 0 ? prefix : startKey;
    String to = Storage.prefixEnd(prefix);
    int fetch = limit > 0 ? limit + 1 : Integer.MAX_VALUE;
    return read(c -> {
      long now = readLong(c, "SELECT value FROM meta WHERE name = 'revision'");
      long compacted = readLong(c, "SELECT value FROM meta WHERE name = 'compacted'");
      long rev = atRevision <= 0 ? now : atRevision;
      if (rev < compacted && rev < now) {
        throw new StorageException.Compacted(rev, compacted);
      }
      if (rev > now) {
        throw new StorageException.Unavailable("revision " + rev + " is in the future (current " + now + ")", null);
      }
      PreparedStatement p;
      if (rev == now) {
        p = c.prepareStatement("SELECT key, create_rev, mod_rev, value FROM kv WHERE key >= ? AND key < ? ORDER BY key LIMIT ?");
      } else {
        p = c.prepareStatement("SELECT key, create_rev, rev, value FROM log l WHERE key >= ? AND key < ? AND deleted = 0"
            + " AND rev = (SELECT MAX(rev) FROM log m WHERE m.key = l.key AND m.rev <= ?4) ORDER BY key LIMIT ?3");
        p.setLong(4, rev);
      }
      try (p) {
        p.setString(1, from);
        p.setString(2, to);
        p.setInt(3, fetch);
        List<KeyValue> items = new ArrayList<>();
        boolean more = false;
        try (ResultSet r = p.executeQuery()) {
          while (r.next()) {
            if (items.size() == fetch - 1 && limit > 0) {
              more = true;
              break;
            }
            items.add(new KeyValue(r.getString(1), r.getBytes(4), r.getLong(2), r.getLong(3)));
          }
        }
        return new ListPage(items, rev, more);
      }
    });
  }

  @Override
  public long count(String prefix) {
    return read(c -> {
      try (PreparedStatement p = c.prepareStatement("SELECT COUNT(*) FROM kv WHERE key >= ? AND key < ?")) {
        p.setString(1, prefix);
        p.setString(2, Storage.prefixEnd(prefix));
        try (ResultSet r = p.executeQuery()) {
          return r.next() ? r.getLong(1) : 0L;
        }
      }
    });
  }

  private static long readLong(Connection c, String sql) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet r = s.executeQuery(sql)) {
      return r.next() ? r.getLong(1) : 0;
    }
  }

  @Override
  public long currentRevision() {
    return revision;
  }

  // ---- watches ----

  @Override
  public Watch watch(String prefix, long afterRevision, WatchListener listener) {
    if (afterRevision < compactedRevision) {
      throw new StorageException.Compacted(afterRevision + 1, compactedRevision);
    }
    SqliteWatch w = new SqliteWatch(prefix, afterRevision, listener);
    watches.add(w);
    w.thread = Thread.ofVirtual().name("sqlite-watch " + prefix).start(w::run);
    return w;
  }

  private final class SqliteWatch implements Watch {
    private final String prefix;
    private final WatchListener listener;
    /** Events, and progress marks ({@link Long}) in the order the writer produced them. */
    private final LinkedBlockingQueue<Object> live = new LinkedBlockingQueue<>();
    private long delivered;
    private volatile boolean cancelled;
    private Thread thread;

    SqliteWatch(String prefix, long after, WatchListener listener) {
      this.prefix = prefix;
      this.delivered = after;
      this.listener = listener;
    }

    void offer(WatchEvent e) {
      if (e.key().startsWith(prefix)) {
        live.add(e);
      }
    }

    void offerProgress(long revision) {
      live.add(revision);
    }

    @Override
    public void requestProgress() {
      if (!cancelled) {
        submit(new Progress(this, new CompletableFuture<>()));
      }
    }

    void run() {
      try {
        replay();
        while (!cancelled) {
          Object next = live.poll(500, TimeUnit.MILLISECONDS);
          if (next instanceof WatchEvent e && e.revision() > delivered) {
            delivered = e.revision();
            listener.onEvent(e);
          } else if (next instanceof Long progress && progress >= delivered) {
            delivered = progress;
            listener.onProgress(progress);
          }
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (RuntimeException e) {
        if (!cancelled) {
          cancelled = true;
          watches.remove(this);
          listener.onError(e);
        }
      }
    }

    /** Sends what the log holds after {@code delivered}, up to the revision current at the start. */
    private void replay() {
      long until = revision;
      while (delivered < until && !cancelled) {
        List<WatchEvent> chunk = read(c -> {
          long compacted = readLong(c, "SELECT value FROM meta WHERE name = 'compacted'");
          if (delivered < compacted) {
            throw new StorageException.Compacted(delivered + 1, compacted);
          }
          List<WatchEvent> events = new ArrayList<>();
          try (PreparedStatement p = c.prepareStatement(
              "SELECT l.rev, l.key, l.create_rev, l.deleted, l.value, p.create_rev, p.rev, p.value FROM log l"
                  + " LEFT JOIN log p ON p.rev = l.prev_rev"
                  + " WHERE l.rev > ? AND l.rev <= ? AND l.key >= ? AND l.key < ? ORDER BY l.rev LIMIT 1000")) {
            p.setLong(1, delivered);
            p.setLong(2, until);
            p.setString(3, prefix);
            p.setString(4, Storage.prefixEnd(prefix));
            try (ResultSet r = p.executeQuery()) {
              while (r.next()) {
                String key = r.getString(2);
                long prevRev = r.getLong(7);
                KeyValue prev = prevRev > 0 ? new KeyValue(key, r.getBytes(8), r.getLong(6), prevRev) : null;
                if (r.getInt(4) == 1) {
                  events.add(new WatchEvent.Delete(prev, r.getLong(1)));
                } else {
                  events.add(new WatchEvent.Put(new KeyValue(key, r.getBytes(5), r.getLong(3), r.getLong(1)), prev));
                }
              }
            }
          }
          return events;
        });
        if (chunk.isEmpty()) {
          delivered = until;
          return;
        }
        for (WatchEvent e : chunk) {
          if (cancelled) {
            return;
          }
          delivered = e.revision();
          listener.onEvent(e);
        }
      }
    }

    @Override
    public void close() {
      cancelled = true;
      watches.remove(this);
      if (thread != null) {
        thread.interrupt();
      }
    }
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    watches.forEach(SqliteWatch::close);
    try {
      writerThread.join(10_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    try {
      for (PreparedStatement p : List.of(selectCurrent, insertLog, deleteKv, upsertKv, updateRevision)) {
        p.close();
      }
      writer.close();
      for (Connection c : readers) {
        c.close();
      }
    } catch (SQLException e) {
      log.warn("closing the embedded store: {}", e.getMessage());
    }
  }
}
