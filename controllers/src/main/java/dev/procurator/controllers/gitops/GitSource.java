package dev.procurator.controllers.gitops;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.api.errors.GitAPIException;
import org.eclipse.jgit.api.errors.TransportException;
import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.ObjectLoader;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.revwalk.RevCommit;
import org.eclipse.jgit.revwalk.RevTree;
import org.eclipse.jgit.revwalk.RevWalk;
import org.eclipse.jgit.storage.file.FileRepositoryBuilder;
import org.eclipse.jgit.transport.CredentialsProvider;
import org.eclipse.jgit.transport.RefSpec;
import org.eclipse.jgit.transport.URIish;
import org.eclipse.jgit.transport.UsernamePasswordCredentialsProvider;
import org.eclipse.jgit.treewalk.TreeWalk;
import org.eclipse.jgit.treewalk.filter.PathFilter;

/**
 * A GitRepository's remote, mirrored into a bare repository of the controller's own: fetches its
 * branches and tags, resolves the ref, and reads manifest files out of a commit's tree without a
 * work tree. One instance per GitRepository; not thread-safe (a sync runs one at a time).
 */
public final class GitSource implements AutoCloseable {
  private static final Pattern SHA = Pattern.compile("^[0-9a-f]{40}$");
  private static final long MAX_FILE_BYTES = 4L << 20;

  /** Credentials for the remote, from the GitRepository's secretRef. */
  public record Credentials(String username, String password) {}

  /** A manifest file at a commit: its path under the repository's root, its bytes, and its blob's id (null: not from git). */
  public record File(String path, byte[] bytes, String blob) {
    public File(String path, byte[] bytes) {
      this(path, bytes, null);
    }
  }

  /** The remote could not be fetched, or the ref not found: the reason names which. */
  public static final class FetchException extends Exception {
    private final String reason;

    FetchException(String reason, String message, Throwable cause) {
      super(message, cause);
      this.reason = reason;
    }

    /** A condition reason: {@code AuthenticationFailed}, {@code FetchFailed} or {@code RefNotFound}. */
    public String reason() {
      return reason;
    }
  }

  private final Repository repo;
  private final Path dir;

  /** Opens (or creates) the mirror in {@code dir}. */
  public GitSource(Path dir) throws IOException {
    Files.createDirectories(dir);
    this.dir = dir;
    this.repo = new FileRepositoryBuilder().setGitDir(dir.toFile()).setBare().build();
    if (!Files.exists(dir.resolve("objects"))) {
      repo.create(true);
    }
  }

  /** The ref {@link #pin} points at a commit, for tools that fetch a ref from the mirror (nix). */
  public static final String PIN_REF = "refs/procurator/pinned";

  /** Points {@link #PIN_REF} at {@code commit}. */
  public void pin(String commit) throws IOException {
    var update = repo.updateRef(PIN_REF);
    update.setNewObjectId(org.eclipse.jgit.lib.ObjectId.fromString(commit));
    update.setForceUpdate(true);
    var result = update.update();
    if (result == org.eclipse.jgit.lib.RefUpdate.Result.LOCK_FAILURE || result == org.eclipse.jgit.lib.RefUpdate.Result.IO_FAILURE
        || result == org.eclipse.jgit.lib.RefUpdate.Result.REJECTED) {
      throw new IOException("could not point " + PIN_REF + " at " + commit + ": " + result);
    }
  }

  /** The mirror: a bare repository holding every commit fetched. */
  public Path dir() {
    return dir;
  }

  /** Fetches every branch and tag of {@code url} and returns the commit {@code ref} names there. */
  public String fetch(String url, String ref, Credentials credentials) throws FetchException {
    try (Git git = new Git(repo)) {
      var fetch = git.fetch().setRemote(new URIish(url).toString()).setRemoveDeletedRefs(true).setForceUpdate(true)
          .setRefSpecs(new RefSpec("+refs/heads/*:refs/heads/*"), new RefSpec("+refs/tags/*:refs/tags/*"))
          .setTimeout(60);
      if (credentials != null) {
        CredentialsProvider p = new UsernamePasswordCredentialsProvider(credentials.username(), credentials.password());
        fetch.setCredentialsProvider(p);
      }
      fetch.call();
    } catch (TransportException e) {
      String m = String.valueOf(e.getMessage());
      // the message starts with the URL, whose port may well hold "401": read what follows it
      String said = m.replace(url, "");
      boolean auth = said.contains("not authorized") || said.contains("Authentication is required") || said.contains(" 401")
          || said.contains("authentication not supported") || said.contains("CredentialsProvider");
      throw new FetchException(auth ? "AuthenticationFailed" : "FetchFailed",
          (auth ? "the remote refused the credentials" + (credentials == null ? " (no secretRef is set)" : " from secretRef") + ": " : "")
              + m, e);
    } catch (GitAPIException | java.net.URISyntaxException e) {
      throw new FetchException("FetchFailed", String.valueOf(e.getMessage()), e);
    }
    return resolve(ref);
  }

  /** The commit {@code ref} names: a full SHA, {@code refs/...}, or a branch, then a tag, of that name. */
  public String resolve(String ref) throws FetchException {
    String r = ref == null || ref.isEmpty() ? "main" : ref;
    try {
      List<String> candidates = SHA.matcher(r).matches() ? List.of(r)
          : r.startsWith("refs/") ? List.of(r) : List.of(Constants.R_HEADS + r, Constants.R_TAGS + r);
      for (String c : candidates) {
        ObjectId id = repo.resolve(c + "^{commit}");
        if (id != null) {
          return id.name();
        }
      }
    } catch (IOException e) {
      throw new FetchException("RefNotFound", "cannot resolve \"" + r + "\": " + e.getMessage(), e);
    }
    throw new FetchException("RefNotFound", "the remote has no branch, tag or commit \"" + r + "\"", null);
  }

  /** The {@code .yaml}, {@code .yml} and {@code .json} files under {@code path} at {@code commit}, sorted by path. */
  public List<File> manifests(String commit, String path) throws IOException {
    String dir = normalise(path);
    List<File> out = new ArrayList<>();
    try (RevWalk walk = new RevWalk(repo)) {
      RevCommit c = walk.parseCommit(ObjectId.fromString(commit));
      RevTree tree = c.getTree();
      try (TreeWalk tw = new TreeWalk(repo)) {
        tw.addTree(tree);
        tw.setRecursive(true);
        if (!dir.isEmpty()) {
          tw.setFilter(PathFilter.create(dir));
        }
        while (tw.next()) {
          String p = tw.getPathString();
          if (!(p.endsWith(".yaml") || p.endsWith(".yml") || p.endsWith(".json"))) {
            continue;
          }
          if (!tw.getFileMode(0).equals(org.eclipse.jgit.lib.FileMode.REGULAR_FILE)
              && !tw.getFileMode(0).equals(org.eclipse.jgit.lib.FileMode.EXECUTABLE_FILE)) {
            continue; // symlinks and submodules are not followed
          }
          ObjectLoader loader = repo.open(tw.getObjectId(0));
          if (loader.getSize() > MAX_FILE_BYTES) {
            throw new IOException(p + " is larger than " + (MAX_FILE_BYTES >> 20) + " MiB");
          }
          out.add(new File(p, loader.getBytes(), tw.getObjectId(0).name()));
        }
      }
    }
    out.sort(java.util.Comparator.comparing(File::path));
    return out;
  }

  /** Whether {@code path} exists as a folder at {@code commit}. */
  public boolean hasFolder(String commit, String path) throws IOException {
    String dir = normalise(path);
    if (dir.isEmpty()) {
      return true;
    }
    try (RevWalk walk = new RevWalk(repo)) {
      RevTree tree = walk.parseCommit(ObjectId.fromString(commit)).getTree();
      try (TreeWalk tw = TreeWalk.forPath(repo, dir, tree)) {
        return tw != null && tw.isSubtree();
      }
    }
  }

  private static String normalise(String path) {
    String p = path == null ? "" : path.trim();
    while (p.startsWith("./")) {
      p = p.substring(2);
    }
    if (p.equals(".") || p.equals("/")) {
      return "";
    }
    p = p.replaceAll("^/+", "").replaceAll("/+$", "");
    if (p.contains("..")) {
      throw new IllegalArgumentException("path may not contain '..': " + path);
    }
    return p;
  }

  @Override
  public void close() {
    repo.close();
  }
}
