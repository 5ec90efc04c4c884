/**
 * Who may do what. {@link dev.procurator.apiserver.authz.Authorization} decides each request from
 * its {@link dev.procurator.apiserver.authz.Attributes}: cluster admins ({@code system:masters})
 * may do anything; nodes are confined by {@link dev.procurator.apiserver.authz.NodeAuthorizer} to
 * what is bound to them; everyone else by RBAC ({@link dev.procurator.apiserver.authz.RbacPolicy},
 * in the {@code rbac.authorization.k8s.io/v1} shape), with escalation prevented as Kubernetes
 * prevents it.
 */
package dev.procurator.apiserver.authz;
