package dev.procurator.nodeagent.guest;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The guest agent's wire format: one line of JSON each way, UTF-8, one request at a time.
 *
 * <pre>
 * host → guest  {"id":N,"exec":["cmd","arg",...],"timeoutSeconds":T}
 * guest → host  {"id":N,"exit":C,"output":"the last bytes of its stdout and stderr"}
 * </pre>
 *
 * The guest runs the command (no shell) for at most T seconds; an answer whose id is not the
 * request's is a late answer to an earlier request and is skipped. Pure; thread-safe.
 */
public final class GuestAgentProtocol {
  /** The name of the guest's virtio-serial port the agent listens on. */
  public static final String PORT_NAME = "procurator.agent";

  /** An answer: the command's exit status and the tail of what it printed. */
  public record Reply(long id, int exit, String output) {
    public Reply {
      output = output == null ? "" : output;
    }
  }

  private static final ObjectMapper JSON = new ObjectMapper();

  private GuestAgentProtocol() {}

  /** The request line (without its newline) to run {@code command} for at most {@code timeout}, whole seconds, at least 1. */
  public static String request(long id, List<String> command, Duration timeout) {
    if (command == null || command.isEmpty()) {
      throw new IllegalArgumentException("an exec request needs a command");
    }
    ObjectNode o = JSON.createObjectNode();
    o.put("id", id);
    ArrayNode exec = o.putArray("exec");
    command.forEach(exec::add);
    o.put("timeoutSeconds", Math.max(1, (timeout.toMillis() + 999) / 1000));
    return o.toString(); // a newline inside an argument is escaped: the request is one line
  }

  /** The answer on {@code line}, or empty when the line is not one (noise, a cut line). */
  public static Optional<Reply> reply(String line) {
    try {
      JsonNode n = JSON.readTree(line);
      if (n == null || !n.isObject() || !n.path("id").canConvertToLong() || !n.path("exit").canConvertToInt()) {
        return Optional.empty();
      }
      return Optional.of(new Reply(n.path("id").asLong(), n.path("exit").asInt(), n.path("output").asText("")));
    } catch (JsonProcessingException e) {
      return Optional.empty();
    }
  }
}
