package dev.procurator.apiserver.rest;

import dev.procurator.apiserver.auth.UserInfo;
import dev.procurator.apiserver.authz.Attributes;
import dev.procurator.apiserver.authz.Authorization;
import dev.procurator.apiserver.authz.Decision;
import dev.procurator.apiserver.registry.ApiException;
import io.vertx.core.MultiMap;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Kubernetes user impersonation: a caller sends {@code Impersonate-User} (and any number of
 * {@code Impersonate-Group}) and the request is then served, authorized and admitted as that
 * user, as {@code kubectl --as NAME --as-group G} does. The caller needs the {@code impersonate}
 * verb on {@code users} named NAME and on {@code groups} named each G (core group). The
 * impersonated user is in the groups named and {@code system:authenticated}, nothing else: it
 * gains no group from the caller. The audit log records both.
 */
public final class Impersonation {
  public static final String USER = "Impersonate-User";
  public static final String GROUP = "Impersonate-Group";
  static final String AUTHENTICATED = "system:authenticated";

  private Impersonation() {}

  /**
   * The user a request acts as: {@code caller} when it impersonates no one, else the user its
   * headers name once {@code az} allowed each. Throws 400 for headers this server does not take
   * and 403 when the caller may not impersonate one of the names.
   */
  public static UserInfo effectiveUser(UserInfo caller, MultiMap headers, Authorization az) {
    boolean any = false;
    for (var h : headers) {
      any |= h.getKey().regionMatches(true, 0, "Impersonate-", 0, 12);
    }
    if (!any) {
      return caller; // nearly every request: one pass over the names, nothing allocated
    }
    String user = headers.get(USER);
    List<String> groups = new ArrayList<>();
    for (String g : headers.getAll(GROUP)) {
      groups.add(g.strip());
    }
    for (String name : headers.names()) {
      String n = name.toLowerCase(Locale.ROOT);
      if (n.equals("impersonate-uid") || n.startsWith("impersonate-extra-")) {
        throw ApiException.badRequest(name + ": this server impersonates users and groups only (Impersonate-User, Impersonate-Group)");
      }
    }
    if (user == null) {
      if (!groups.isEmpty()) {
        throw ApiException.badRequest("Impersonate-Group needs Impersonate-User: impersonating groups without a user is not allowed");
      }
      return caller;
    }
    user = user.strip();
    if (user.isEmpty()) {
      throw ApiException.badRequest("Impersonate-User is empty");
    }
    check(az, caller, "users", user);
    for (String g : groups) {
      if (g.isEmpty()) {
        throw ApiException.badRequest("Impersonate-Group is empty");
      }
      check(az, caller, "groups", g);
    }
    if (!groups.contains(AUTHENTICATED)) {
      groups.add(AUTHENTICATED);
    }
    return new UserInfo(user, groups);
  }

  private static void check(Authorization az, UserInfo caller, String resource, String name) {
    if (az == null) {
      return;
    }
    Attributes a = Attributes.resource(caller, "impersonate", "", resource, null, null, name);
    Decision d = az.authorize(a);
    if (!d.allowed()) {
      throw ApiException.forbidden(resource + " \"" + name + "\" is forbidden: " + a.denial());
    }
  }
}
