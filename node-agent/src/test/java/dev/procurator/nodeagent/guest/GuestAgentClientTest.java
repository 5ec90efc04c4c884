package dev.procurator.nodeagent.guest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The client against a fake guest on a unix socket, as QEMU's chardev socket stands for the guest's port. */
class GuestAgentClientTest {
  @TempDir Path dir;
  private ServerSocketChannel server;
  private Thread guest;

  /** A guest that answers each request line with what {@code answer} makes of it (null: never answers). */
  private Path guest(Function<String, List<String>> answer) throws IOException {
    Path socket = dir.resolve("guest-agent.sock");
    server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    server.bind(UnixDomainSocketAddress.of(socket));
    guest = Thread.ofVirtual().start(() -> {
      try {
        while (true) {
          try (SocketChannel c = server.accept()) {
            BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(c), StandardCharsets.UTF_8));
            OutputStream out = Channels.newOutputStream(c);
            String line;
            while ((line = in.readLine()) != null) {
              List<String> lines = answer.apply(line);
              if (lines == null) {
                in.readLine(); // silent until the client goes
                break;
              }
              for (String l : lines) {
                out.write((l + "\n").getBytes(StandardCharsets.UTF_8));
              }
            }
          }
        }
      } catch (IOException closed) {
        // the test is over
      }
    });
    return socket;
  }

  @AfterEach
  void stop() throws Exception {
    if (server != null) {
      server.close();
      guest.join(Duration.ofSeconds(5));
    }
  }

  private static long id(String request) {
    return GuestAgentProtocol.reply(request.replace("\"exec\"", "\"exit\":0,\"exec\"")).orElseThrow().id();
  }

  @Test
  void runsACommandAndSkipsALateAnswerToAnEarlierRequest() throws Exception {
    Path socket = guest(req -> List.of("noise", "{\"id\":" + (id(req) - 1) + ",\"exit\":0,\"output\":\"stale\"}",
        "{\"id\":" + id(req) + ",\"exit\":1,\"output\":\"no such file\"}"));
    GuestAgentClient client = new GuestAgentClient(socket);
    assertThat(client.exec(List.of("test", "-f", "/x"), Duration.ofSeconds(1))).isEqualTo(new GuestAgentProtocol.Reply(1, 1, "no such file"));
    assertThat(client.exec(List.of("test", "-f", "/x"), Duration.ofSeconds(1)).id()).isEqualTo(2);
  }

  @Test
  void aGuestAgentThatDoesNotAnswerIsNoAnswerWithinTheTimeoutAndItsSlack() throws Exception {
    Path socket = guest(req -> null);
    GuestAgentClient client = new GuestAgentClient(socket);
    long t0 = System.nanoTime();
    assertThatThrownBy(() -> client.exec(List.of("true"), Duration.ofSeconds(1))).isInstanceOf(GuestAgentClient.NoAnswer.class)
        .hasMessage("the guest agent did not answer within 4 s");
    assertThat(Duration.ofNanos(System.nanoTime() - t0)).isBetween(Duration.ofSeconds(1).plus(GuestAgentClient.SLACK).minusMillis(50),
        Duration.ofSeconds(8));
  }

  @Test
  void noChannelAtAllIsSaid() {
    GuestAgentClient client = new GuestAgentClient(dir.resolve("guest-agent.sock"));
    assertThatThrownBy(() -> client.exec(List.of("true"), Duration.ofSeconds(1))).isInstanceOf(GuestAgentClient.NoAnswer.class)
        .hasMessageContaining("no guest agent channel");
  }
}
