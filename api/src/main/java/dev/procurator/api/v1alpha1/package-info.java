/**
 * The resource types of group {@code procurator.dev}, version {@code v1alpha1}.
 *
 * <p>Each kind is a fabric8 {@link io.fabric8.kubernetes.client.CustomResource} whose spec and
 * status are records. The CRDs in {@code crds/} are generated from these classes, and the API
 * server validates requests against those same schemas, so a constraint written here (for
 * example {@code @Min}/{@code @Max}, {@code @Pattern}, {@code @Required}) is enforced by the
 * server for every client.
 */
package dev.procurator.api.v1alpha1;
