package dev.procurator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.List;
import java.util.Map;

/**
 * What a node reports about itself.
 *
 * @param images the boot files in the node's images directory, as Kubernetes reports a node's
 *     container images; null from an agent that does not report them
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record NodeStatus(
    Map<String, String> capacity,
    Map<String, String> allocatable,
    Map<String, String> allocated,
    List<Hypervisor> hypervisors,
    List<Condition> conditions,
    Boolean kvm,
    Integer runningVMs,
    @JsonPropertyDescription("Boot files in the node's images directory, and boot closures in its store: a VM booted by kernel and initrd"
        + " paths goes only to nodes that have them, and one booted by closure prefers nodes that hold it.")
        List<Image> images,
    @JsonPropertyDescription("Whether the node's agent pulls closures from a binary cache: a VM that boots a closure the node does not"
        + " hold goes only to nodes that do.")
        Boolean binaryCache) {

  /** A status without images. */
  public NodeStatus(Map<String, String> capacity, Map<String, String> allocatable, Map<String, String> allocated, List<Hypervisor> hypervisors,
      List<Condition> conditions, Boolean kvm, Integer runningVMs) {
    this(capacity, allocatable, allocated, hypervisors, conditions, kvm, runningVMs, null, null);
  }

  /** A status that does not say whether the node has a binary cache. */
  public NodeStatus(Map<String, String> capacity, Map<String, String> allocatable, Map<String, String> allocated, List<Hypervisor> hypervisors,
      List<Condition> conditions, Boolean kvm, Integer runningVMs, List<Image> images) {
    this(capacity, allocatable, allocated, hypervisors, conditions, kvm, runningVMs, images, null);
  }

  /**
   * One boot file on the node.
   *
   * @param names the names a VM's boot source can give it: for a boot file, its path relative to the
   *     images directory and its absolute path; for a closure in the node's store, its store path and
   *     the closure names it was resolved from
   * @param sizeBytes its size
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Image(List<String> names, Long sizeBytes) {}

  /** {@code status}, or an empty status when there is none yet. */
  public static NodeStatus orEmpty(NodeStatus status) {
    return status != null ? status : new NodeStatus(null, null, null, null, null, null, null, null, null);
  }

  public NodeStatus withConditions(List<Condition> c) {
    return new NodeStatus(capacity, allocatable, allocated, hypervisors, c, kvm, runningVMs, images, binaryCache);
  }

  public NodeStatus withImages(List<Image> i) {
    return new NodeStatus(capacity, allocatable, allocated, hypervisors, conditions, kvm, runningVMs, i, binaryCache);
  }

  public NodeStatus withBinaryCache(Boolean b) {
    return new NodeStatus(capacity, allocatable, allocated, hypervisors, conditions, kvm, runningVMs, images, b);
  }

  /** Whether the node reports an image (boot file or closure) by {@code name}. */
  public boolean holds(String name) {
    return images != null && images.stream().anyMatch(i -> i.names() != null && i.names().contains(name));
  }

  /** Whether the node reports the file {@code name} (a path as a VM's spec gives it); true when it reports no images at all. */
  public boolean mayHave(String name) {
    return images == null || images.stream().anyMatch(i -> i.names() != null && i.names().contains(name));
  }
}
