package dev.procurator.nodeagent.guest;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Asks one guest's agent to run a command, over the unix socket its hypervisor connects to the
 * guest's {@value GuestAgentProtocol#PORT_NAME} port. A connection per request (the hypervisor
 * serves one client at a time, and the guest reads end-of-file while none is connected), one
 * request at a time per guest. Blocks: call it off event loops. Thread-safe.
 */
public final class GuestAgentClient {
  /** What the guest may take beyond the command's own timeout: reading the request, starting the command, answering. */
  public static final Duration SLACK = Duration.ofSeconds(3);

  /** The guest agent did not answer in time, or cannot be reached. */
  public static final class NoAnswer extends Exception {
    public NoAnswer(String message) {
      super(message);
    }
  }

  private final Path socket;
  private final ReentrantLock oneAtATime = new ReentrantLock();
  private final AtomicLong ids = new AtomicLong();

  public GuestAgentClient(Path socket) {
    this.socket = socket;
  }

  public Path socket() {
    return socket;
  }

  /** Runs {@code command} in the guest for at most {@code timeout}; its exit status and output tail. */
  public GuestAgentProtocol.Reply exec(List<String> command, Duration timeout) throws NoAnswer, InterruptedException {
    Duration wait = timeout.plus(SLACK);
    long deadline = System.nanoTime() + wait.toNanos();
    if (!oneAtATime.tryLock(wait.toNanos(), TimeUnit.NANOSECONDS)) {
      throw new NoAnswer("the guest agent did not answer within " + wait.toSeconds() + " s (busy with an earlier check)");
    }
    try {
      if (!Files.exists(socket)) {
        throw new NoAnswer("the hypervisor offers no guest agent channel (" + socket.getFileName() + " is missing)");
      }
      long id = ids.incrementAndGet();
      String line = GuestAgentProtocol.request(id, command, timeout) + "\n";
      try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
        AtomicBoolean timedOut = new AtomicBoolean();
        long left = Math.max(1, deadline - System.nanoTime());
        // a blocking read has no timeout of its own: closing the channel at the deadline ends it
        CompletableFuture<Void> closer = CompletableFuture.runAsync(() -> {
          timedOut.set(true);
          try {
            ch.close();
          } catch (IOException ignored) {
            // closed already
          }
        }, CompletableFuture.delayedExecutor(left, TimeUnit.NANOSECONDS));
        try {
          ch.connect(UnixDomainSocketAddress.of(socket));
          ByteBuffer out = ByteBuffer.wrap(line.getBytes(StandardCharsets.UTF_8));
          while (out.hasRemaining()) {
            ch.write(out);
          }
          ByteBuffer in = ByteBuffer.allocate(4096);
          ByteArrayOutputStream pending = new ByteArrayOutputStream();
          while (true) {
            in.clear();
            if (ch.read(in) < 0) {
              throw new NoAnswer("the guest agent closed the connection without answering");
            }
            in.flip();
            while (in.hasRemaining()) {
              byte b = in.get();
              if (b != '\n') {
                if (pending.size() < 1 << 20) {
                  pending.write(b);
                }
                continue;
              }
              String got = pending.toString(StandardCharsets.UTF_8);
              pending.reset();
              var reply = GuestAgentProtocol.reply(got);
              if (reply.isPresent() && reply.get().id() == id) {
                return reply.get();
              }
              // a late answer to an earlier request, or noise: keep reading
            }
          }
        } catch (IOException e) {
          if (timedOut.get()) {
            throw new NoAnswer("the guest agent did not answer within " + wait.toSeconds() + " s");
          }
          throw new NoAnswer("the guest agent cannot be reached: " + e.getMessage());
        } finally {
          closer.cancel(false);
        }
      } catch (IOException e) {
        throw new NoAnswer("the guest agent cannot be reached: " + e.getMessage());
      }
    } finally {
      oneAtATime.unlock();
    }
  }
}
