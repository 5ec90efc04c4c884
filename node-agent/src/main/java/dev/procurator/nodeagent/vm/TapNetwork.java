package dev.procurator.nodeagent.vm;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.Locale;

/**
 * Tap devices for VMs in {@code tap} network mode: one per VM, named and addressed (MAC) from the
 * VM's key so both stay the same across agent restarts, attached to an existing bridge, optionally
 * inside a network namespace (where the VM's QEMU then runs too). Uses iproute2's {@code ip}.
 * Thread-safe.
 */
public final class TapNetwork {
  /** The bridge taps join, and the network namespace it lives in (null: the agent's). */
  public record Config(String bridge, String netns) {}

  private final Config config;

  public TapNetwork(Config config) {
    this.config = config;
  }

  public String netns() {
    return config.netns();
  }

  /** The tap device of VM {@code key}: {@code pv} and 12 hex digits of its hash (device names have at most 15 characters). */
  public static String deviceFor(String key) {
    return "pv" + HexFormat.of().formatHex(hash(key), 0, 6);
  }

  /** A locally administered MAC under QEMU's 52:54:00 prefix, from the VM's key. */
  public static String macFor(String key) {
    byte[] h = hash(key);
    return String.format(Locale.ROOT, "52:54:00:%02x:%02x:%02x", h[6] & 0xff, h[7] & 0xff, h[8] & 0xff);
  }

  private static byte[] hash(String key) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Creates the device if it is missing and puts it, up, on the bridge. */
  public void ensure(String device) throws IOException {
    String exists = ip("link", "show", device);
    if (exists != null) {
      String out = ip("tuntap", "add", "dev", device, "mode", "tap");
      if (out != null) {
        throw new IOException("cannot create tap device " + device + where() + ": " + out);
      }
    }
    String out = ip("link", "set", device, "master", config.bridge());
    if (out != null) {
      throw new IOException("cannot put " + device + " on bridge " + config.bridge() + where() + ": " + out);
    }
    out = ip("link", "set", device, "up");
    if (out != null) {
      throw new IOException("cannot bring " + device + " up" + where() + ": " + out);
    }
  }

  /** Removes the device; nothing happens when it is already gone. */
  public void remove(String device) {
    ip("link", "del", device);
  }

  private String where() {
    return config.netns() == null ? "" : " in network namespace " + config.netns();
  }

  /** Runs {@code ip [-n NETNS] ARGS}; null on success, else what it printed. */
  private String ip(String... args) {
    List<String> cmd = new ArrayList<>(List.of("ip"));
    if (config.netns() != null) {
      cmd.addAll(List.of("-n", config.netns()));
    }
    cmd.addAll(List.of(args));
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
      if (!p.waitFor(10, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return "timed out";
      }
      return p.exitValue() == 0 ? null : out;
    } catch (IOException e) {
      return e.getMessage();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "interrupted";
    }
  }
}
