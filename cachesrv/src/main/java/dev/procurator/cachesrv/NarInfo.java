package dev.procurator.cachesrv;

import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * A {@code .narinfo}: the metadata of one store path in a binary cache. Parsing checks every
 * field a substituting nix relies on, so a malformed upload is refused rather than served.
 */
public record NarInfo(
    String storePath,
    String url,
    String compression,
    String fileHash,
    long fileSize,
    String narHash,
    long narSize,
    List<String> references,
    String deriver,
    List<String> sigs,
    String ca) {

  public static final String STORE_DIR = "/nix/store";
  private static final Pattern STORE_NAME = Pattern.compile("[0-9a-df-np-sv-z]{32}-[A-Za-z0-9+\\-._?=]+");

  public NarInfo {
    references = List.copyOf(references);
    sigs = List.copyOf(sigs);
  }

  /** The 32-character hash part of the store path. */
  public String hashPart() {
    return storePath.substring(STORE_DIR.length() + 1, STORE_DIR.length() + 33);
  }

  public static boolean isStorePathName(String baseName) {
    return STORE_NAME.matcher(baseName).matches() && baseName.length() <= 211;
  }

  /** Parses and checks; throws IllegalArgumentException naming the first bad field. */
  public static NarInfo parse(String text) {
    Map<String, String> f = new LinkedHashMap<>();
    List<String> sigs = new ArrayList<>();
    for (String line : text.split("\n")) {
      if (line.isBlank()) {
        continue;
      }
      int colon = line.indexOf(": ");
      String key = colon < 0 ? line.replace(":", "") : line.substring(0, colon);
      String value = colon < 0 ? "" : line.substring(colon + 2);
      if (colon < 0 && !line.endsWith(":")) {
        throw new IllegalArgumentException("line \"" + line + "\" is not \"Key: value\"");
      }
      if (key.equals("Sig")) {
        sigs.add(value);
      } else if (f.put(key, value) != null) {
        throw new IllegalArgumentException("field " + key + " appears twice");
      }
    }
    String storePath = required(f, "StorePath");
    if (!storePath.startsWith(STORE_DIR + "/") || !isStorePathName(storePath.substring(STORE_DIR.length() + 1))) {
      throw new IllegalArgumentException("StorePath \"" + storePath + "\" is not a store path in " + STORE_DIR);
    }
    String url = required(f, "URL");
    if (!url.matches("nar/[0-9a-df-np-sv-z]{52}\\.nar(\\.xz|\\.zst|\\.bz2|\\.br)?")) {
      throw new IllegalArgumentException("URL \"" + url + "\" is not nar/<nix-base32 sha256>.nar[.xz|.zst|.bz2|.br]");
    }
    String compression = required(f, "Compression");
    String narHash = required(f, "NarHash");
    parseSha256(narHash, "NarHash");
    long narSize = number(f, "NarSize", true);
    String fileHash = f.get("FileHash");
    if (fileHash != null) {
      parseSha256(fileHash, "FileHash");
    }
    long fileSize = number(f, "FileSize", false);
    List<String> refs = new ArrayList<>();
    String refText = f.getOrDefault("References", "").trim();
    if (!refText.isEmpty()) {
      for (String r : refText.split(" +")) {
        if (!isStorePathName(r)) {
          throw new IllegalArgumentException("reference \"" + r + "\" is not a store path base name");
        }
        refs.add(r);
      }
    }
    String deriver = f.get("Deriver");
    if (deriver != null && !deriver.isEmpty() && !deriver.equals("unknown-deriver") && !isStorePathName(deriver)) {
      throw new IllegalArgumentException("Deriver \"" + deriver + "\" is not a store path base name");
    }
    for (String sig : sigs) {
      int c = sig.indexOf(':');
      if (c <= 0) {
        throw new IllegalArgumentException("Sig \"" + sig + "\" is not name:base64");
      }
      try {
        Base64.getDecoder().decode(sig.substring(c + 1));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("Sig \"" + sig + "\" is not name:base64");
      }
    }
    return new NarInfo(storePath, url, compression, fileHash, fileSize, narHash, narSize, refs, deriver, sigs, f.get("CA"));
  }

  private static String required(Map<String, String> f, String key) {
    String v = f.get(key);
    if (v == null || v.isEmpty()) {
      throw new IllegalArgumentException("field " + key + " is missing");
    }
    return v;
  }

  private static long number(Map<String, String> f, String key, boolean required) {
    String v = f.get(key);
    if (v == null) {
      if (required) {
        throw new IllegalArgumentException("field " + key + " is missing");
      }
      return -1;
    }
    try {
      long n = Long.parseLong(v);
      if (n < 0) {
        throw new NumberFormatException();
      }
      return n;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(key + " \"" + v + "\" is not a size");
    }
  }

  /** The 32 bytes of a {@code sha256:<nix-base32|hex>} or SRI {@code sha256-<base64>} hash. */
  public static byte[] parseSha256(String hash, String field) {
    try {
      if (hash.startsWith("sha256-")) {
        byte[] b = Base64.getDecoder().decode(hash.substring(7));
        if (b.length == 32) {
          return b;
        }
      } else if (hash.startsWith("sha256:")) {
        String h = hash.substring(7);
        if (h.length() == 52) {
          return NixBase32.decode(h, 32);
        }
        if (h.length() == 64) {
          return java.util.HexFormat.of().parseHex(h);
        }
      }
    } catch (IllegalArgumentException e) {
      // fall through to the message below
    }
    throw new IllegalArgumentException(field + " \"" + hash + "\" is not a sha256 hash");
  }

  /** The string nix signs: {@code 1;<path>;<narHash>;<narSize>;<refs as full paths>}. */
  public String fingerprint() {
    StringBuilder refs = new StringBuilder();
    for (String r : references) {
      if (!refs.isEmpty()) {
        refs.append(',');
      }
      refs.append(STORE_DIR).append('/').append(r);
    }
    String hash = narHash.startsWith("sha256:") && narHash.length() == 7 + 52 ? narHash
        : "sha256:" + NixBase32.encode(parseSha256(narHash, "NarHash"));
    return "1;" + storePath + ";" + hash + ";" + narSize + ";" + refs;
  }

  public NarInfo withSig(String sig) {
    List<String> all = new ArrayList<>(sigs);
    if (!all.contains(sig)) {
      all.add(sig);
    }
    return new NarInfo(storePath, url, compression, fileHash, fileSize, narHash, narSize, references, deriver, all, ca);
  }

  public String render() {
    StringBuilder sb = new StringBuilder();
    sb.append("StorePath: ").append(storePath).append('\n');
    sb.append("URL: ").append(url).append('\n');
    sb.append("Compression: ").append(compression).append('\n');
    if (fileHash != null) {
      sb.append("FileHash: ").append(fileHash).append('\n');
    }
    if (fileSize >= 0) {
      sb.append("FileSize: ").append(fileSize).append('\n');
    }
    sb.append("NarHash: ").append(narHash).append('\n');
    sb.append("NarSize: ").append(narSize).append('\n');
    sb.append("References: ").append(String.join(" ", references)).append('\n');
    if (deriver != null && !deriver.isEmpty()) {
      sb.append("Deriver: ").append(deriver).append('\n');
    }
    for (String sig : sigs) {
      sb.append("Sig: ").append(sig).append('\n');
    }
    if (ca != null) {
      sb.append("CA: ").append(ca).append('\n');
    }
    return sb.toString();
  }
}
