package dev.procurator.nodeagent.hypervisor.qemu;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * One QMP session: QEMU serves a single client per monitor, so a command session connects, sends
 * its commands and closes, never holding the socket idle; an event session holds its own monitor
 * (a second {@code -qmp} socket) and reads events until QEMU goes. A command session that gets no
 * answer within its deadline is closed under the caller, who gets an IOException, so a wedged
 * QEMU cannot hold a thread.
 */
final class Qmp implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final SocketChannel channel;
  private final BufferedReader in;
  private final OutputStream out;

  private Qmp(SocketChannel channel) throws IOException {
    this.channel = channel;
    this.in = new BufferedReader(new InputStreamReader(Channels.newInputStream(channel), StandardCharsets.UTF_8));
    this.out = Channels.newOutputStream(channel);
    String first = in.readLine();
    if (first == null) {
      throw new IOException("QMP closed before its greeting");
    }
    JsonNode greeting = JSON.readTree(first);
    if (!greeting.has("QMP")) {
      throw new IOException("not a QMP greeting: " + greeting);
    }
    execute("qmp_capabilities");
  }

  /** A command session that is cut off after {@code deadline}. */
  static Qmp connect(Path socket, Duration deadline) throws IOException {
    SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX);
    CompletableFuture.delayedExecutor(deadline.toMillis(), TimeUnit.MILLISECONDS).execute(() -> {
      try {
        c.close();
      } catch (IOException ignored) {
        // closed already
      }
    });
    return open(c, socket);
  }

  /** A session with no deadline, for reading events. */
  static Qmp connectForEvents(Path socket) throws IOException {
    return open(SocketChannel.open(StandardProtocolFamily.UNIX), socket);
  }

  private static Qmp open(SocketChannel c, Path socket) throws IOException {
    try {
      c.connect(UnixDomainSocketAddress.of(socket));
      return new Qmp(c);
    } catch (IOException e) {
      c.close();
      throw e;
    }
  }

  /** Runs a command and returns its {@code return} value; events in between are skipped. */
  JsonNode execute(String command) throws IOException {
    out.write((JSON.writeValueAsString(JSON.createObjectNode().put("execute", command)) + "\n").getBytes(StandardCharsets.UTF_8));
    out.flush();
    while (true) {
      String line = in.readLine();
      if (line == null) {
        throw new IOException("QMP closed during " + command);
      }
      JsonNode n = JSON.readTree(line);
      if (n.has("return")) {
        return n.get("return");
      }
      if (n.has("error")) {
        throw new IOException("QMP " + command + ": " + n.get("error").path("desc").asText());
      }
    }
  }

  /** Hands every event to {@code onEvent} until QEMU closes the monitor (it exits) or the session is closed. */
  void readEvents(Consumer<JsonNode> onEvent) throws IOException {
    String line;
    while ((line = in.readLine()) != null) {
      JsonNode n = JSON.readTree(line);
      if (n.has("event")) {
        onEvent.accept(n);
      }
    }
  }

  @Override
  public void close() throws IOException {
    channel.close();
  }
}
