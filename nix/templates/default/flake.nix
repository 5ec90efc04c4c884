{
  description = "A Procurator cluster with one VM role";

  inputs.procurator.url = "github:procurator-dev/procurator";
  inputs.nixpkgs.follows = "procurator/nixpkgs";

  outputs = { self, procurator, nixpkgs }: {
    # The guest: a NixOS system whose toplevel (kernel, initrd, init) is the VM's closure;
    # procurator.nixosModules.guest makes it a microVM the node agent can boot and check.
    nixosConfigurations.web = nixpkgs.lib.nixosSystem {
      system = "x86_64-linux";
      modules = [ procurator.nixosModules.guest ./web.nix ];
    };

    # What the cluster runs. `nix eval --json .#procurator.resources` prints its Cluster resources;
    # a GitRepository with `source: Flake` applies them, and one with `build` builds the closures.
    procurator = (procurator.lib.evalCluster [{
      procurator.cluster = {
        name = "demo";
        vms.web = {
          cpu = 1;
          memory = "256Mi";
          replicas = 2;
          system = self.nixosConfigurations.web;
          ports = [ 8080 ];
          healthChecks = [{ type = "http"; port = 8080; path = "/healthz"; periodSeconds = 2; }];
          strategy = { type = "RollingUpdate"; maxSurge = 1; maxUnavailable = 0; };
        };
      };
    }]).config.procurator;

    packages.x86_64-linux.web = self.nixosConfigurations.web.config.system.build.toplevel;
  };
}
