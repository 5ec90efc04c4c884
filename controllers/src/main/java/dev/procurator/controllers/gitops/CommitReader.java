package dev.procurator.controllers.gitops;

import dev.procurator.api.nix.NixJail;
import dev.procurator.api.runtime.ObjectKey;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Each GitRepository's mirror and what its commits hold: the manifests under a path, or what a
 * {@code source: Flake} commit's flake evaluates to. Reads a commit once per path, and a file once
 * per git blob, so a new commit parses only the files it changed. Safe for one caller per
 * GitRepository at a time.
 */
final class CommitReader implements AutoCloseable {
  private final Path cacheDir;
  private final NixJail.Limits flakeLimits;
  private final boolean allowPrivateUrls;
  private final Map<ObjectKey, GitSource> sources = new ConcurrentHashMap<>();
  /** Parsed manifests per commit and path: a sync of an unchanged commit reads nothing again. */
  private final Map<ObjectKey, Read> read = new ConcurrentHashMap<>();

  private record Read(String commit, String path, Manifests.Parsed manifests) {}

  /**
   * @param cacheDir where the remotes are mirrored, one bare repository per GitRepository
   * @param flakeLimits how long and in how much memory a {@code source: Flake} commit may evaluate
   * @param allowPrivateUrls whether a flake's locked inputs may come from the controllers' host or network
   */
  CommitReader(Path cacheDir, NixJail.Limits flakeLimits, boolean allowPrivateUrls) {
    this.cacheDir = cacheDir;
    this.flakeLimits = flakeLimits;
    this.allowPrivateUrls = allowPrivateUrls;
  }

  /** The mirror of {@code key}'s remote, opened (or made) on first use. */
  GitSource source(ObjectKey key) {
    return sources.computeIfAbsent(key, k -> {
      try {
        return new GitSource(cacheDir.resolve(k.namespace()).resolve(k.name() + ".git"));
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    });
  }

  /** The objects {@code commit} holds under {@code path}; empty when it has no such folder. */
  Optional<Manifests.Parsed> read(ObjectKey key, GitSource source, String commit, String path, boolean flake)
      throws IOException, FlakeResources.EvalException, InterruptedException {
    Read cached = read.get(key);
    if (cached != null && cached.commit().equals(commit) && cached.path().equals(path)) {
      return Optional.of(cached.manifests());
    }
    if (!source.hasFolder(commit, path)) {
      return Optional.empty();
    }
    Manifests.Parsed manifests;
    if (flake) {
      String file = (path.equals(".") ? "" : path.replaceAll("/$", "") + "/") + "flake.nix#" + FlakeResources.ATTRIBUTE;
      source.pin(commit);
      byte[] list = FlakeResources.eval(source.dir(), commit, path, cacheDir.resolve(".nix").resolve(key.namespace()).resolve(key.name()),
          flakeLimits, allowPrivateUrls);
      manifests = Manifests.parseFile(new GitSource.File(file, list), true);
    } else {
      manifests = Manifests.combine(source.manifests(commit, path).stream().map(this::parseFile).toList());
    }
    read.put(key, new Read(commit, path, manifests));
    return Optional.of(manifests);
  }

  /** A file's documents, read once per blob. */
  private Manifests.Parsed parseFile(GitSource.File f) {
    if (f.blob() == null) {
      return Manifests.parseFile(f);
    }
    String k = f.blob() + "\u0000" + f.path();
    synchronized (byBlob) {
      Manifests.Parsed p = byBlob.get(k);
      if (p != null) {
        return p;
      }
    }
    Manifests.Parsed p = Manifests.parseFile(f);
    synchronized (byBlob) {
      byBlob.put(k, p);
    }
    return p;
  }

  private final Map<String, Manifests.Parsed> byBlob = new java.util.LinkedHashMap<>(1024, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Manifests.Parsed> eldest) {
      return size() > 50_000;
    }
  };

  /** The GitRepository is gone: close its mirror, drop what was read of it. */
  void forget(ObjectKey key) {
    GitSource s = sources.remove(key);
    if (s != null) {
      s.close();
    }
    read.remove(key);
  }

  @Override
  public void close() {
    sources.values().forEach(GitSource::close);
    sources.clear();
  }
}
