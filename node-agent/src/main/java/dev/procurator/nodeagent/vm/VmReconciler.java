package dev.procurator.nodeagent.vm;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.procurator.api.runtime.EventRecorder;
import dev.procurator.api.runtime.EventSpec;
import dev.procurator.api.runtime.ObjectKey;
import dev.procurator.api.runtime.Reconciler;
import dev.procurator.api.runtime.Result;
import dev.procurator.api.runtime.StatusWriter;
import dev.procurator.api.v1alpha1.VM;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The node agent's loop for one VM bound to this node: reads the VM, asks the {@link VmHost} what
 * it observes, lets {@link VmLifecycle#decide} choose, then writes — the finalizer first, the
 * status once and only when it changed, and only then the actions, so that what the status says
 * the agent is doing is never behind what it does. A write that lost a race (409) sends the key
 * back to the queue. Nothing here waits: slow steps run in the host and wake the loop when they
 * end.
 */
public final class VmReconciler implements Reconciler<ObjectKey> {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(VmReconciler.class);

  public static final String FINALIZER = VmLifecycle.FINALIZER;
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Timeouts and limits; the VM's own {@code bootTimeoutSeconds} wins over {@link #bootTimeout}. */
  public record Settings(Duration bootTimeout, Duration stopGrace, Duration restartBackoff, Duration maxRestartBackoff,
      long consoleCapBytes, Duration resync) {
    public static Settings defaults() {
      return new Settings(Duration.ofMinutes(2), Duration.ofSeconds(20), Duration.ofSeconds(1), Duration.ofMinutes(5),
          1 << 20, Duration.ofSeconds(30));
    }
  }

  private final KubernetesClient client;
  private final String nodeName;
  private final VmHost host;
  private final EventRecorder events;
  private final Settings settings;
  private final Clock clock;

  public VmReconciler(KubernetesClient client, String nodeName, VmHost host, EventRecorder events, Settings settings, Clock clock) {
    this.client = client;
    this.nodeName = nodeName;
    this.host = host;
    this.events = events;
    this.settings = settings;
    this.clock = clock;
  }

  @Override
  public Result reconcile(ObjectKey key) {
    VM vm;
    try {
      vm = client.resources(VM.class).inNamespace(key.namespace()).withName(key.name()).get();
    } catch (KubernetesClientException e) {
      if (e.getCode() != 403) {
        throw e;
      }
      vm = null; // a node may read only the VMs bound to it: this one is no longer, or is gone
    }
    boolean bound = vm != null && nodeName.equals(vm.getSpec().nodeName());
    Observation seen = host.observe(key, bound ? vm : null);
    VmLifecycle.Decision d = VmLifecycle.decide(vm, bound, seen, clock.instant(), settings);
    if (d.actions().contains(new VmAction.AddFinalizer())) {
      List<String> finalizers = new ArrayList<>(vm.getMetadata().getFinalizers());
      finalizers.add(FINALIZER);
      vm = writeFinalizers(vm, finalizers);
    }
    if (d.status() != null) {
      vm = StatusWriter.write(client, vm, d.status());
    }
    for (VmAction a : d.actions()) {
      switch (a) {
        case VmAction.AddFinalizer add -> { }
        case VmAction.RemoveFinalizer remove -> removeFinalizer(vm);
        default -> host.execute(key, vm, a);
      }
    }
    if (bound && vm.getMetadata().getDeletionTimestamp() == null && host.running().containsKey(key)) {
      try {
        host.syncSecrets(key, vm); // a running guest's Secrets follow their objects
      } catch (java.io.IOException e) {
        log.warn("{}: writing its Secrets failed: {}", key, e.toString());
      }
    }
    for (EventSpec e : d.events()) {
      events.record(vm, e.type(), e.reason(), e.note());
    }
    return d.requeueAfter() == null ? Result.done() : Result.requeueAfter(d.requeueAfter());
  }

  private void removeFinalizer(VM vm) {
    List<String> finalizers = new ArrayList<>(vm.getMetadata().getFinalizers());
    finalizers.remove(FINALIZER);
    try {
      writeFinalizers(vm, finalizers);
    } catch (KubernetesClientException e) {
      if (e.getCode() != 404) {
        throw e;
      }
    }
  }

  /**
   * Sets the VM's finalizers and nothing else (a merge patch at the version read, so a change
   * meanwhile fails with 409): a node may change no more of a VM than its status and its own
   * finalizer.
   */
  private VM writeFinalizers(VM vm, List<String> finalizers) {
    ObjectNode patch = JSON.createObjectNode();
    ObjectNode meta = patch.putObject("metadata");
    meta.put("resourceVersion", vm.getMetadata().getResourceVersion());
    ArrayNode list = meta.putArray("finalizers");
    finalizers.forEach(list::add);
    return client.resources(VM.class).inNamespace(vm.getMetadata().getNamespace()).withName(vm.getMetadata().getName())
        .patch(PatchContext.of(PatchType.JSON_MERGE), patch.toString());
  }
}
