package dev.procurator.apiserver.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.procurator.apiserver.resource.ResourceType;
import dev.procurator.apiserver.storage.KeyValue;
import dev.procurator.apiserver.storage.ListPage;
import dev.procurator.apiserver.storage.StorageException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * GET and LIST: one object, or a collection filtered by label and field selectors and paged by
 * {@code limit} and {@code continue} tokens. A continued list reads a snapshot of the rest at the
 * first page's revision, so its pages are consistent.
 *
 * <p>Blocking and thread-safe.
 */
final class ObjectReader {
  private final StoredObjects store;
  private final ListSnapshots snapshots;

  ObjectReader(StoredObjects store) {
    this.store = store;
    this.snapshots = new ListSnapshots(store.storage(), 256L << 20);
  }

  ObjectNode get(ResourceType type, String namespace, String name) {
    return StoredObjects.served(type, store.currentOrNotFound(type, namespace, name));
  }

  ListResult list(ResourceType type, String namespace, ListOptions options) {
    String prefix = type.keyPrefix(namespace);
    long revision = 0;
    String start = null;
    if (options.continueToken() != null && !options.continueToken().isEmpty()) {
      Continue c = Continue.decode(options.continueToken(), prefix);
      revision = c.revision;
      start = c.startKey;
    }
    boolean filtered = !options.labels().isEmpty() || !options.fields().isEmpty();
    int limit = options.limit();
    List<byte[]> items = new ArrayList<>();
    String lastKey = null;
    boolean more;
    long listRevision;
    while (true) {
      int want = limit == 0 ? 0 : filtered ? Math.max(limit - items.size(), 100) : limit - items.size();
      final long rev = revision;
      final String from = start;
      ListPage page;
      try {
        // the first page from the store; continued ones from a snapshot of the rest at that revision
        page = rev > 0 && from != null ? snapshots.page(prefix, from, rev, want) : store.storage().list(prefix, from, rev, want);
      } catch (StorageException.Compacted e) {
        throw ApiException.gone("The provided continue parameter is too old to display a consistent list result."
            + " Start a new list without the continue parameter.");
      } catch (StorageException e) {
        throw StoredObjects.translate(e, type, null);
      }
      listRevision = page.revision();
      revision = page.revision();
      more = page.more();
      for (KeyValue kv : page.items()) {
        lastKey = kv.key();
        if (filtered) {
          ObjectNode o = StoredObjects.served(type, kv);
          if (!options.labels().test(o) || !options.fields().test(o)) {
            continue;
          }
          items.add(Json.bytes(o));
        } else {
          items.add(StoredObjects.servedBytes(type, kv.value(), kv.modRevision()));
        }
        if (limit > 0 && items.size() >= limit) {
          more = more || kv != page.items().get(page.items().size() - 1);
          break;
        }
      }
      if (!more || limit == 0 || items.size() >= limit) {
        break;
      }
      start = lastKey + "\0";
    }
    String token = more && lastKey != null ? new Continue(listRevision, lastKey + "\0").encode() : null;
    return new ListResult(items, listRevision, token);
  }

  /** A continue token: the list's revision and the next key. */
  private record Continue(long revision, String startKey) {
    String encode() {
      ObjectNode n = Json.object().put("rv", revision).put("start", startKey);
      return Base64.getUrlEncoder().withoutPadding().encodeToString(Json.bytes(n));
    }

    static Continue decode(String token, String prefix) {
      try {
        JsonNode n = Json.MAPPER.readTree(Base64.getUrlDecoder().decode(token));
        long rev = n.path("rv").asLong(0);
        String start = n.path("start").asText("");
        if (rev <= 0 || !start.startsWith(prefix)) {
          throw new IllegalArgumentException("wrong list");
        }
        return new Continue(rev, start);
      } catch (Exception e) {
        throw ApiException.badRequest("invalid continue token: it must be one returned by a list of the same resource");
      }
    }
  }
}
