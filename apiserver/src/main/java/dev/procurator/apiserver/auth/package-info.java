/**
 * Who is calling: {@link dev.procurator.apiserver.auth.Authenticator}s turn a request's bearer
 * token into a {@link dev.procurator.apiserver.auth.UserInfo} (static tokens and token files,
 * {@link dev.procurator.apiserver.auth.IssuedTokens}); client certificates of the cluster CA
 * ({@link dev.procurator.apiserver.auth.Pki}) are read by the HTTP layer. Nodes get and renew
 * theirs through {@link dev.procurator.apiserver.auth.NodeCertificates}. What a caller may do is
 * {@code authz}'s to say.
 */
package dev.procurator.apiserver.auth;
