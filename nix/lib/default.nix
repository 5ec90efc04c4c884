# Procurator's Nix library. `lib` is nixpkgs' lib (the module system).
{ lib }:
rec {
  # Evaluates cluster modules (procurator.cluster.*) with the module system.
  evalCluster = modules: lib.evalModules { modules = [ ../modules/cluster.nix ] ++ modules; };

  # The Cluster resources of cluster modules: what a GitRepository with `source: Flake` applies.
  resources = modules: (evalCluster modules).config.procurator.resources;
}
