/**
 * The garbage collector, after Kubernetes': {@link dev.procurator.controllers.gc.GarbageCollector}
 * follows every kind the server serves and keeps an index of owners and dependents; {@link
 * dev.procurator.controllers.gc.Cascade} decides, for one object, what to delete, orphan or
 * release (background, foreground and orphaning deletion).
 */
package dev.procurator.controllers.gc;
