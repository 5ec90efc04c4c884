/**
 * The scheduler: {@link dev.procurator.controllers.scheduler.Placement} picks for an unbound VM a
 * Ready, schedulable Node that has its hypervisor, matches its nodeSelector, has its boot files and
 * has room for its CPUs and memory, preferring the emptiest; {@link
 * dev.procurator.controllers.scheduler.SchedulerLoop} binds it, leaves a VM that fits nowhere
 * Pending with a Scheduled=False condition saying why, and moves a VM whose node cannot have its
 * boot source to another node.
 */
package dev.procurator.controllers.scheduler;
