{
  description = "Procurator: GitOps for Nix-built microVMs";

  # nixpkgs gives lib (the module system) and, where it can be fetched, the JDK and Maven that build pctl.
  # Offline, point it at a copy of nixpkgs' lib: --override-input nixpkgs path:/path/to/nixpkgs-lib/lib
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.05";

  outputs = { self, nixpkgs }:
    let
      lib = nixpkgs.lib;
      procuratorLib = import ./nix/lib { inherit lib; };
    in
    {
      # lib.evalCluster [ modules ] and lib.resources [ modules ]: a cluster written as Nix options,
      # and the Cluster resources it becomes (what a GitRepository with source Flake applies).
      lib = procuratorLib;

      nixosModules = {
        cluster = ./nix/modules/cluster.nix;
        control-plane = ./nix/modules/control-plane.nix;
        node-agent = ./nix/modules/node-agent.nix;
        cache = ./nix/modules/cache.nix;
        # a NixOS system as a Procurator microVM (imported by the guest, not by the hosts)
        guest = ./nix/modules/guest.nix;
        default = { imports = [ ./nix/modules/control-plane.nix ./nix/modules/node-agent.nix ./nix/modules/cache.nix ]; };
      };

      templates.default = {
        path = ./nix/templates/default;
        description = "A cluster with one VM role, built and rolled out by Procurator";
      };

      # pctl and its jars, built with Maven from nixpkgs. The Maven dependencies are a fixed-output
      # derivation: on the first build nix prints the hash to put in mvnHash.
      packages.x86_64-linux = lib.optionalAttrs (nixpkgs ? legacyPackages) (
        let pkgs = nixpkgs.legacyPackages.x86_64-linux; in rec {
          pctl = pkgs.maven.buildMavenPackage {
            pname = "procurator";
            version = "0.1.0";
            src = self;
            mvnHash = lib.fakeHash;
            mvnParameters = "-DskipTests -DskipITs";
            nativeBuildInputs = [ pkgs.makeWrapper ];
            installPhase = ''
              mkdir -p $out/share/procurator $out/bin
              cp pctl/target/pctl.jar $out/share/procurator/
              makeWrapper ${pkgs.jdk21_headless}/bin/java $out/bin/pctl \
                --add-flags "--enable-native-access=ALL-UNNAMED -jar $out/share/procurator/pctl.jar" \
                --prefix PATH : ${lib.makeBinPath [ pkgs.nix pkgs.qemu_kvm pkgs.erofs-utils pkgs.git ]}
            '';
          };
          default = pctl;
        });
    };
}
