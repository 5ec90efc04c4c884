package dev.procurator.cachesrv;

import com.github.luben.zstd.ZstdInputStream;
import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import org.tukaani.xz.XZInputStream;

/**
 * Reads a (compressed) NAR as a stream, checks that it is a well-formed Nix archive, and
 * measures it: the sha256 and size of the archive itself (NarHash, NarSize). Nothing is held in
 * memory beyond a small buffer, whatever the size of the files inside.
 */
public final class NarVerifier {
  /** What a NAR measured. */
  public record Measured(byte[] narHash, long narSize) {
    public String narHashString() {
      return "sha256:" + NixBase32.encode(narHash);
    }
  }

  private static final int MAX_DEPTH = 256;
  private static final long MAX_NAME = 255;
  private static final long MAX_SHORT_STRING = 4096;

  private final InputStream in;
  private final byte[] eight = new byte[8];
  private final byte[] skip = new byte[64 * 1024];

  private NarVerifier(InputStream in) {
    this.in = in;
  }

  /** The most a NAR may expand to per compressed byte: more is a decompression bomb, not a store path. */
  public static final long MAX_RATIO = 1000;
  /** The largest NAR (uncompressed) accepted, whatever its compression. */
  public static final long MAX_NAR_BYTES = 64L << 30;

  /** Decompresses {@code compressed} ({@code compressedSize} bytes) as {@code compression} ("none", "xz", "zstd") and verifies it. */
  public static Measured verify(InputStream compressed, String compression, long compressedSize) throws IOException {
    try (InputStream raw = new BufferedInputStream(compressed, 64 * 1024)) {
      InputStream plain = switch (compression) {
        case "none", "" -> raw;
        case "xz" -> new XZInputStream(raw);
        case "zstd" -> new ZstdInputStream(raw);
        default -> throw new IllegalArgumentException("compression \"" + compression + "\" is not supported (use xz, zstd or none)");
      };
      long limit = compression.equals("none") || compression.isEmpty() || compressedSize > MAX_NAR_BYTES / MAX_RATIO ? MAX_NAR_BYTES
          : Math.max(1L << 20, compressedSize * MAX_RATIO);
      return verify(new Bounded(plain, limit, compression));
    }
  }

  /** Fails the read that would go past {@code limit} bytes, before decompressing further. */
  private static final class Bounded extends java.io.FilterInputStream {
    private final long limit;
    private final String compression;
    private long read;

    Bounded(InputStream in, long limit, String compression) {
      super(in);
      this.limit = limit;
      this.compression = compression;
    }

    private void check(long n) {
      read += n;
      if (read > limit) {
        throw new IllegalArgumentException("the NAR expands past " + limit + " bytes" + (compression.equals("none") || compression.isEmpty()
            ? "" : " (" + MAX_RATIO + " times its " + compression + " size at most)") + ": refused as a decompression bomb");
      }
    }

    @Override
    public int read() throws IOException {
      int b = super.read();
      if (b >= 0) {
        check(1);
      }
      return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      int n = super.read(b, off, (int) Math.min(len, Math.max(1, limit - read + 1)));
      if (n > 0) {
        check(n);
      }
      return n;
    }
  }

  public static Measured verify(InputStream plain) throws IOException {
    MessageDigest sha;
    try {
      sha = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    CountingStream counting = new CountingStream(new DigestInputStream(plain, sha));
    NarVerifier v = new NarVerifier(counting);
    v.expect("nix-archive-1");
    v.node(0);
    if (counting.read() != -1) {
      throw new IllegalArgumentException("not a NAR: data after the end of the archive");
    }
    return new Measured(sha.digest(), counting.count);
  }

  private void node(int depth) throws IOException {
    if (depth > MAX_DEPTH) {
      throw new IllegalArgumentException("not a NAR: directories nested more than " + MAX_DEPTH + " deep");
    }
    expect("(");
    expect("type");
    String type = string(MAX_SHORT_STRING);
    switch (type) {
      case "regular" -> {
        String next = string(MAX_SHORT_STRING);
        if (next.equals("executable")) {
          expect("");
          next = string(MAX_SHORT_STRING);
        }
        if (!next.equals("contents")) {
          throw new IllegalArgumentException("not a NAR: expected \"contents\", found \"" + next + "\"");
        }
        skipBytes(length());
        expect(")");
      }
      case "symlink" -> {
        expect("target");
        string(MAX_SHORT_STRING);
        expect(")");
      }
      case "directory" -> {
        String previous = null;
        while (true) {
          String next = string(MAX_SHORT_STRING);
          if (next.equals(")")) {
            return;
          }
          if (!next.equals("entry")) {
            throw new IllegalArgumentException("not a NAR: expected \"entry\" or \")\", found \"" + next + "\"");
          }
          expect("(");
          expect("name");
          String name = string(MAX_NAME);
          if (name.isEmpty() || name.equals(".") || name.equals("..") || name.contains("/") || name.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("not a NAR: bad entry name \"" + name + "\"");
          }
          if (previous != null && previous.compareTo(name) >= 0) {
            throw new IllegalArgumentException("not a NAR: entries are not sorted or repeat (\"" + name + "\")");
          }
          previous = name;
          expect("node");
          node(depth + 1);
          expect(")");
        }
      }
      default -> throw new IllegalArgumentException("not a NAR: unknown node type \"" + type + "\"");
    }
  }

  private void expect(String token) throws IOException {
    String s = string(MAX_SHORT_STRING);
    if (!s.equals(token)) {
      throw new IllegalArgumentException("not a NAR: expected \"" + token + "\", found \"" + (s.length() > 40 ? s.substring(0, 40) : s) + "\"");
    }
  }

  private long length() throws IOException {
    readFully(eight, 8);
    long n = 0;
    for (int i = 7; i >= 0; i--) {
      n = (n << 8) | (eight[i] & 0xff);
    }
    if (n < 0) {
      throw new IllegalArgumentException("not a NAR: negative length");
    }
    return n;
  }

  private String string(long max) throws IOException {
    long n = length();
    if (n > max) {
      throw new IllegalArgumentException("not a NAR: a name or token of " + n + " bytes");
    }
    byte[] b = new byte[(int) n];
    readFully(b, b.length);
    padding(n);
    return new String(b, StandardCharsets.UTF_8);
  }

  private void skipBytes(long n) throws IOException {
    long left = n;
    while (left > 0) {
      int r = in.read(skip, 0, (int) Math.min(skip.length, left));
      if (r < 0) {
        throw new EOFException("not a NAR: it ends inside a file");
      }
      left -= r;
    }
    padding(n);
  }

  private void padding(long n) throws IOException {
    int pad = (int) ((8 - n % 8) % 8);
    if (pad > 0) {
      readFully(eight, pad);
      for (int i = 0; i < pad; i++) {
        if (eight[i] != 0) {
          throw new IllegalArgumentException("not a NAR: non-zero padding");
        }
      }
    }
  }

  private void readFully(byte[] b, int n) throws IOException {
    int off = 0;
    while (off < n) {
      int r = in.read(b, off, n - off);
      if (r < 0) {
        throw new IllegalArgumentException("not a NAR: it ends early");
      }
      off += r;
    }
  }

  private static final class CountingStream extends InputStream {
    private final InputStream in;
    long count;

    CountingStream(InputStream in) {
      this.in = in;
    }

    @Override
    public int read() throws IOException {
      int b = in.read();
      if (b >= 0) {
        count++;
      }
      return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      int n = in.read(b, off, len);
      if (n > 0) {
        count += n;
      }
      return n;
    }
  }
}
