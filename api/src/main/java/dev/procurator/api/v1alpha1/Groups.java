package dev.procurator.api.v1alpha1;

/** Group and version names shared by every kind in this package. */
public final class Groups {
  public static final String PROCURATOR = "procurator.dev";
  public static final String V1ALPHA1 = "v1alpha1";
  public static final String API_VERSION = PROCURATOR + "/" + V1ALPHA1;

  private Groups() {}
}
