/**
 * Who is calling: {@link dev.procurator.apiserver.auth.Authenticator} turns a request's credentials
 * into a {@link dev.procurator.apiserver.auth.UserInfo}. Bearer tokens today; client certificates
 * and an authorizer for roles plug in beside it.
 */
package dev.procurator.apiserver.auth;
