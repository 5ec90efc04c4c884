# Evaluates the guest module against the stubs, for the tests: the file systems, boot settings and
# systemd units a few guests get. A package stands for its store path and a script for its text
# (pkgs.writeShellScript), so a test can read what a unit runs.
#   nix-instantiate --eval --strict --json nix/tests/guest.nix --arg lib 'import PATH/TO/nixpkgs-lib/lib'
{ lib }:
let
  pkg = name: "/nix/store/00000000000000000000000000000000-${name}";
  pkgs = {
    runtimeShell = pkg "bash" + "/bin/bash";
    jq = pkg "jq"; coreutils = pkg "coreutils"; iproute2 = pkg "iproute2"; curl = pkg "curl"; busybox = pkg "busybox";
    writeShellScript = name: text: "#!${pkg "bash"}/bin/bash (${name})\n${text}";
  };
  eval = config: (lib.evalModules {
    # modulesPath is for imports, so a special argument, as nixpkgs' nixos/lib/eval-config.nix gives it
    specialArgs.modulesPath = ./modules-path;
    modules = [ ./stubs.nix ../modules/guest.nix { _module.args.pkgs = pkgs; } config ];
  }).config;
  pick = c: {
    inherit (c) fileSystems;
    boot = { inherit (c.boot) kernelParams; grub = c.boot.loader.grub.enable; initrdModules = c.boot.initrd.availableKernelModules; };
    units = c.systemd.services;
    udev = c.services.udev.extraRules;
    useDHCP = c.networking.useDHCP;
    failedAssertions = map (a: a.message) (lib.filter (a: !a.assertion) c.assertions);
  };
in
{
  defaults = pick (eval { });
  web = pick (eval {
    procurator.guest = {
      readyAfter = "web.service";
      secrets = [ { name = "tls"; mountPath = "/run/tls"; } { name = "db"; mountPath = "/run/secrets/db"; } ];
      secretEnvironment.web = [ "db" ];
      agent.path = [ pkgs.curl ];
    };
    systemd.services.web = { wantedBy = [ "multi-user.target" ]; serviceConfig.ExecStart = "/bin/web"; };
  });
  storeOver9p = pick (eval { procurator.guest = { store.share = "9p"; network.enable = false; agent.enable = false; }; });
  unknownSecret = pick (eval { procurator.guest.secretEnvironment.web = [ "nope" ]; });
  # the role `nix flake init -t` writes, with the module its flake.nix imports
  template = pick (eval ../templates/default/web.nix);
  disabled = pick (eval { procurator.guest.enable = false; });
}
