package dev.procurator.apiserver.testing.history;

import dev.procurator.apiserver.testing.history.Operation.Input;
import dev.procurator.apiserver.testing.history.Operation.Output;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Random;

/**
 * Histories a correct server could produce: clients run random operations against one real
 * sequential store, each taking effect at a random instant between its call and its return, so
 * that many overlap; a few get no answer (they took effect or not, at random).
 */
final class RandomHistories {
  private RandomHistories() {}

  private record Event(long time, long seq, int client, boolean linearize) {}

  private static final class Running {
    String key;
    Input input;
    long call;
    boolean unanswered;
    Output output;
  }

  static List<Operation> generate(long seed, int operations, int clients, int keys, double unanswered) {
    Random rnd = new Random(seed);
    Map<String, String[]> store = new HashMap<>(); // key -> {value, rv}
    List<Map<String, String>> seenRv = new ArrayList<>(); // per client: key -> last rv it saw
    Running[] running = new Running[clients];
    PriorityQueue<Event> queue = new PriorityQueue<>((a, b) -> a.time() != b.time() ? Long.compare(a.time(), b.time()) : Long.compare(a.seq(), b.seq()));
    long seq = 0;
    for (int c = 0; c < clients; c++) {
      seenRv.add(new HashMap<>());
      queue.add(new Event(rnd.nextInt(10), seq++, c, false));
    }
    List<Operation> out = new ArrayList<>();
    int values = 0;
    long rv = 100;
    int started = 0;
    while (!queue.isEmpty()) {
      Event e = queue.poll();
      int c = e.client();
      Running r = running[c];
      if (r == null) {
        if (started == operations) {
          continue;
        }
        started++;
        r = new Running();
        r.key = "k" + rnd.nextInt(keys);
        r.call = e.time();
        r.unanswered = rnd.nextDouble() < unanswered;
        String known = seenRv.get(c).getOrDefault(r.key, "1");
        int pick = rnd.nextInt(100);
        r.input = pick < 30 ? new Input.Get()
            : pick < 45 ? new Input.Create("v" + values++)
            : pick < 85 ? new Input.Update("v" + values++, rnd.nextInt(10) == 0 ? Long.toString(100 + rnd.nextInt((int) (rv - 99))) : known)
            : new Input.Delete();
        running[c] = r;
        queue.add(new Event(e.time() + 1 + rnd.nextInt(50), seq++, c, true));
      } else if (e.linearize()) {
        boolean apply = !r.unanswered || rnd.nextBoolean();
        String[] now = store.get(r.key);
        r.output = switch (r.input) {
          case Input.Get g -> now == null ? new Output.NotFound() : new Output.Read(now[0], now[1]);
          case Input.Create cr -> now != null ? new Output.AlreadyExists() : written(store, r.key, cr.value(), ++rv, apply);
          case Input.Update u -> now == null ? new Output.NotFound()
              : !now[1].equals(u.expectedRv()) ? new Output.Conflict() : written(store, r.key, u.value(), ++rv, apply);
          case Input.Delete d -> {
            if (now == null) {
              yield new Output.NotFound();
            }
            if (apply) {
              store.remove(r.key);
            }
            yield new Output.Deleted();
          }
        };
        queue.add(new Event(e.time() + 1 + rnd.nextInt(50), seq++, c, false));
      } else {
        Output o = r.unanswered ? new Output.Unknown() : r.output;
        out.add(new Operation(out.size(), c, r.key, r.input, o, r.call * 1000, e.time() * 1000)); // time units as microseconds
        if (o instanceof Output.Written w) {
          seenRv.get(c).put(r.key, w.rv());
        } else if (o instanceof Output.Read rd) {
          seenRv.get(c).put(r.key, rd.rv());
        }
        running[c] = null;
        queue.add(new Event(e.time() + 1 + rnd.nextInt(20), seq++, c, false));
      }
    }
    return out;
  }

  private static Output written(Map<String, String[]> store, String key, String value, long rv, boolean apply) {
    if (apply) {
      store.put(key, new String[] {value, Long.toString(rv)});
    }
    return new Output.Written(Long.toString(rv));
  }

  /**
   * {@code history} with one read made stale: it now answers what an acknowledged write W1 wrote,
   * though another acknowledged write W2 on the object began after W1 returned and returned before
   * the read began. Returns null when the history has no such read.
   */
  static List<Operation> withStaleRead(List<Operation> history) {
    for (Operation read : history.subList(history.size() / 2, history.size())) {
      if (!(read.output() instanceof Output.Read)) {
        continue;
      }
      for (Operation w2 : history) {
        if (!w2.key().equals(read.key()) || !(w2.output() instanceof Output.Written) || w2.ret() >= read.call()) {
          continue;
        }
        for (Operation w1 : history) {
          if (w1.key().equals(read.key()) && w1.output() instanceof Output.Written w && w1.ret() < w2.call()) {
            String value = w1.input() instanceof Input.Create c ? c.value() : ((Input.Update) w1.input()).value();
            List<Operation> corrupted = new ArrayList<>(history);
            corrupted.set(history.indexOf(read), read.withOutput(new Output.Read(value, w.rv())));
            return corrupted;
          }
        }
      }
    }
    return null;
  }
}
