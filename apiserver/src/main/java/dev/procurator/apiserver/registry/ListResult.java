package dev.procurator.apiserver.registry;

import java.util.List;

/**
 * A page of a list: items as JSON bytes (each with its resourceVersion), the revision the list was
 * read at, and the token for the next page (null on the last page).
 */
public record ListResult(List<byte[]> items, long resourceVersion, String continueToken) {}
