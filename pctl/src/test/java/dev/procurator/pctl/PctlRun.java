package dev.procurator.pctl;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/** pctl run in the test's JVM against a kubeconfig, with what it printed and its exit code. */
record PctlRun(int code, String out, String err) {
  /** Runs {@code pctl --kubeconfig KUBECONFIG ARGS...}; one at a time, since it takes over System.out and System.err. */
  static synchronized PctlRun run(Path kubeconfig, String... args) {
    PrintStream out = System.out;
    PrintStream err = System.err;
    // what else runs in this JVM (agents, controllers) logs to System.err too: quiet it while pctl's stderr is taken
    ch.qos.logback.classic.Logger root = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    ch.qos.logback.classic.Level level = root.getLevel();
    root.setLevel(ch.qos.logback.classic.Level.ERROR);
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    ByteArrayOutputStream e = new ByteArrayOutputStream();
    try {
      System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
      String[] all = new String[args.length + 2];
      all[0] = "--kubeconfig";
      all[1] = kubeconfig.toString();
      System.arraycopy(args, 0, all, 2, args.length);
      return new PctlRun(Pctl.run(all), o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(out);
      System.setErr(err);
      root.setLevel(level);
    }
  }
}
