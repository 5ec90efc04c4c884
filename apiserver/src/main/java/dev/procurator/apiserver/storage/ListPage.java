package dev.procurator.apiserver.storage;

import java.util.List;

/**
 * A page of a prefix listing, read at {@code revision}. {@code more} says whether keys after the
 * last one in {@code items} exist at that revision.
 */
public record ListPage(List<KeyValue> items, long revision, boolean more) {
  public ListPage {
    items = List.copyOf(items);
  }
}
