/**
 * The build controller: {@link dev.procurator.controllers.builds.BuildQueue} places Builds on
 * builder nodes oldest first and sends a Build whose builder is lost back to the queue; {@link
 * dev.procurator.controllers.builds.BuildLoop} adds the deploy of a successful Build to its Cluster
 * template and the Events. The builders on the nodes run the Builds.
 */
package dev.procurator.controllers.builds;
