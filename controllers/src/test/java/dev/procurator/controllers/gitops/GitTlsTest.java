package dev.procurator.controllers.gitops;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class GitTlsTest {
  /**
   * Two repositories synced at once in a new process: one thread's first fetch initializes JGit's
   * {@code Transport}, whose initializer registers the HTTP transport and so needs
   * {@code HttpTransport}; the other thread's first {@code GitTls.trust} touched
   * {@code HttpTransport} first, which needs its superclass {@code Transport}. Each waited for the
   * other's class initializer forever, and since a virtual thread waiting for a class initializer
   * holds its carrier, two of them stopped every virtual thread in the process (the API server's
   * requests among them). Each round uses class loaders of its own, so each starts from classes
   * not yet initialized, as a new process does.
   */
  @Test
  void aFirstFetchAndAFirstTrustAtOnceDoNotDeadlock() throws Exception {
    URL[] classpath = classpath();
    for (int round = 0; round < 30; round++) {
      try (URLClassLoader loader = new URLClassLoader(classpath, ClassLoader.getPlatformClassLoader())) {
        CyclicBarrier start = new CyclicBarrier(2);
        AtomicReference<Throwable> failed = new AtomicReference<>();
        Thread fetch = Thread.ofPlatform().daemon().name("first-fetch").start(() -> {
          try {
            start.await();
            Class.forName("org.eclipse.jgit.transport.Transport", true, loader);
          } catch (Throwable e) {
            failed.set(e);
          }
        });
        Thread trust = Thread.ofPlatform().daemon().name("first-trust").start(() -> {
          try {
            Method m = Class.forName(GitTls.class.getName(), true, loader).getDeclaredMethod("trust", String.class, String.class);
            m.setAccessible(true);
            start.await();
            m.invoke(null, "https://git.example.com/x.git", null);
          } catch (Throwable e) {
            failed.set(e);
          }
        });
        fetch.join(TimeUnit.SECONDS.toMillis(20));
        trust.join(TimeUnit.SECONDS.toMillis(20));
        assertThat(fetch.isAlive() || trust.isAlive())
            .as("round %d: the first fetch and the first trust wait for each other's class initializer", round).isFalse();
        assertThat(failed.get()).isNull();
      }
    }
  }

  private static URL[] classpath() throws Exception {
    List<URL> urls = new ArrayList<>();
    for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
      urls.add(Path.of(entry).toUri().toURL());
    }
    return urls.toArray(URL[]::new);
  }
}
