package dev.procurator.controllers.gitops;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.api.errors.GitAPIException;
import org.eclipse.jgit.lib.PersonIdent;
import org.eclipse.jgit.revwalk.RevCommit;

/** A bare repository and a developer's clone of it: what a test commits and pushes to. */
final class Remote implements AutoCloseable {
  final Path bare;
  private final Git work;

  /** Makes {@code root/NAME.git} (bare) and a clone of it, on branch main. */
  Remote(Path root, String name) throws IOException, GitAPIException, java.net.URISyntaxException {
    bare = root.resolve(name + ".git");
    Git.init().setBare(true).setInitialBranch("main").setDirectory(bare.toFile()).call().close();
    Path dir = Files.createTempDirectory(root, name + "-work");
    work = Git.init().setInitialBranch("main").setDirectory(dir.toFile()).call();
    work.remoteAdd().setName("origin").setUri(new org.eclipse.jgit.transport.URIish(bare.toUri().toString())).call();
  }

  String fileUrl() {
    return "file://" + bare.toAbsolutePath();
  }

  /** Writes {@code files} (path → content; null content deletes the file), commits, pushes main; returns the commit's SHA. */
  String push(String message, Map<String, String> files) throws IOException, GitAPIException {
    Path dir = work.getRepository().getWorkTree().toPath();
    for (var e : files.entrySet()) {
      Path f = dir.resolve(e.getKey());
      if (e.getValue() == null) {
        Files.deleteIfExists(f);
        work.rm().addFilepattern(e.getKey()).call();
      } else {
        Files.createDirectories(f.getParent());
        Files.writeString(f, e.getValue());
        work.add().addFilepattern(e.getKey()).call();
      }
    }
    PersonIdent me = new PersonIdent("Test", "test@example.org");
    RevCommit c = work.commit().setMessage(message).setAuthor(me).setCommitter(me).setAllowEmpty(true).call();
    work.push().setRemote("origin").add("main").setForce(true).call();
    return c.name();
  }

  /** Tags the last commit and pushes the tag. */
  void tag(String name) throws GitAPIException {
    work.tag().setName(name).setAnnotated(false).call();
    work.push().setRemote("origin").setPushTags().call();
  }

  @Override
  public void close() {
    work.close();
  }
}
