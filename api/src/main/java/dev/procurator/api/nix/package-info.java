/**
 * Running the nix client on user code: {@link dev.procurator.api.nix.NixJail} evaluates a flake
 * where it sees only the nix store, the host's tools and the paths it is given, with a private
 * configuration, an environment made from scratch, and limits on time and memory.
 */
package dev.procurator.api.nix;
