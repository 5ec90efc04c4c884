package dev.procurator.controllers.clusters;

import dev.procurator.api.v1alpha1.VMSpec;
import java.time.Instant;

/**
 * One template revision as its ControllerRevision records it: the template's VM spec at that
 * revision (what a rollback boots), its number among the template's revisions, and how it ended.
 *
 * @param outcome {@code Available}, {@code Failed}, or null while it has not ended
 */
public record Revision(String name, String template, String hash, long number, VMSpec spec, String outcome, Instant created) {
  /** The closure this revision boots, or null for a kernel boot. */
  public String closure() {
    return spec == null || spec.boot() == null ? null : spec.boot().closure();
  }
}
