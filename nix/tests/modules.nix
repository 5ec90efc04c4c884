# Evaluates the NixOS modules against stubs, for the tests: the systemd units, users and firewall
# ports that a few configurations produce.
#   nix-instantiate --eval --strict --json nix/tests/modules.nix --arg lib 'import PATH/TO/nixpkgs-lib/lib'
{ lib }:
let
  eval = config: (lib.evalModules {
    modules = [ ./stubs.nix ../modules/control-plane.nix ../modules/node-agent.nix ../modules/cache.nix config ];
  }).config;
  pick = c: {
    units = lib.mapAttrs (_: s: { inherit (s) serviceConfig; wantedBy = s.wantedBy or [ ]; }) c.systemd.services;
    users = lib.attrNames c.users.users;
    ports = c.networking.firewall.allowedTCPPorts;
  };
  pkg = "/nix/store/00000000000000000000000000000000-procurator";
in
{
  defaults = pick (eval {
    services.procurator.controlPlane = { enable = true; package = pkg; };
    services.procurator.agent = { enable = true; package = pkg; kubeconfig = "/etc/procurator/kubeconfig"; };
    services.procurator.cache = { enable = true; package = pkg; };
  });
  threeHosts = {
    control = pick (eval {
      services.procurator.controlPlane = {
        enable = true; package = pkg; listen = "0.0.0.0:7443"; store = "etcd://10.0.0.11:2379,10.0.0.12:2379";
        cache.enable = false; openFirewall = true;
      };
    });
    agent = pick (eval {
      services.procurator.agent = {
        enable = true; package = pkg; nodeName = "host-b";
        join = { server = "https://10.0.0.5:7443"; caFile = "/etc/procurator/ca.crt"; tokenFile = "/run/secrets/procurator-join-token"; };
        listen = "10.0.0.21:10250"; labels = { zone = "a"; };
        cache = { url = "http://10.0.0.31:7444"; publicKeyFile = "/etc/procurator/cache-key.pub"; };
        builder = { enable = true; maxBuilds = 2; cacheUrl = "http://10.0.0.31:7444"; pushTokenFile = "/run/secrets/cache-push-token"; };
        openFirewall = true;
      };
    });
    cache = pick (eval {
      services.procurator.cache = { enable = true; package = pkg; listen = "0.0.0.0:7444"; maxSize = "50G"; openFirewall = true; };
    });
  };
  disabled = pick (eval { });
  monitored = let c = eval {
    services.procurator.controlPlane = { enable = true; package = pkg; listen = "0.0.0.0:7443"; prometheus.scrape = true; };
  }; in pick c // {
    prometheus = { inherit (c.services.prometheus) enable scrapeConfigs; rules = map toString c.services.prometheus.ruleFiles; };
    prometheusUnit = { inherit (c.systemd.services.prometheus) after; credentials = c.systemd.services.prometheus.serviceConfig.LoadCredential; };
  };
}
