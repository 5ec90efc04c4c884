/**
 * The scheduler binds each unbound VM to a Ready, schedulable Node that has its hypervisor,
 * matches its nodeSelector and has room for its CPUs and memory, preferring the emptiest; a VM
 * that fits nowhere stays Pending with a Scheduled=False condition saying why.
 */
package dev.procurator.controllers.scheduler;
