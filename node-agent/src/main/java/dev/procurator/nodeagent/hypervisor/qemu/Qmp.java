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

/**
 * One short QMP session: QEMU serves a single client at a time, so a session connects, sends
 * its commands and closes, never holding the socket idle.
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
    JsonNode greeting = JSON.readTree(in.readLine());
    if (!greeting.has("QMP")) {
      throw new IOException("not a QMP greeting: " + greeting);
    }
    execute("qmp_capabilities");
  }

  static Qmp connect(Path socket) throws IOException {
    SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX);
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

  @Override
  public void close() throws IOException {
    channel.close();
  }
}
