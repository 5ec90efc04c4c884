/**
 * The host's side of the guest agent, a small program in the guest that runs exec health checks:
 * {@link dev.procurator.nodeagent.guest.GuestAgentProtocol} is its line-based JSON codec and {@link
 * dev.procurator.nodeagent.guest.GuestAgentClient} asks one guest over the unix socket its
 * hypervisor gives the agent for the guest's virtio-serial port ({@code procurator.agent}).
 */
package dev.procurator.nodeagent.guest;
