package dev.procurator.api.v1alpha1;

import io.fabric8.kubernetes.api.model.HasMetadata;
import java.util.List;

/** Every kind of group procurator.dev, in the order discovery lists them. */
public final class Kinds {
  public static final List<Class<? extends HasMetadata>> ALL =
      List.of(VM.class, Node.class, Cluster.class, Build.class, Secret.class, GitRepository.class, BinaryCache.class);

  private Kinds() {}
}
