# The control plane as a NixOS service: `pctl up` (API server, binary cache, controllers) with no
# node agent on this host unless asked. The flags are those the README documents.
{ config, lib, pkgs ? null, ... }:
let
  inherit (lib) mkOption mkEnableOption mkIf types optional optionals concatStringsSep escapeShellArgs;
  cfg = config.services.procurator.controlPlane;
  pctl = "${cfg.package}/bin/pctl";
in
{
  options.services.procurator.controlPlane = {
    enable = mkEnableOption "the Procurator control plane (API server, controllers, and optionally the binary cache)";
    package = mkOption { type = types.either types.package types.str; description = "The package holding bin/pctl."; };
    listen = mkOption { type = types.str; default = "127.0.0.1:7443"; description = "host:port of the API server (HTTPS)."; };
    dataDir = mkOption { type = types.str; default = "/var/lib/procurator"; description = "PKI, admin token, embedded store, cache."; };
    store = mkOption {
      type = types.either (types.enum [ "embedded" ]) (types.strMatching "etcd://.+");
      default = "embedded";
      description = "'embedded' (one host), or etcd://host:port[,host:port...].";
    };
    cache = {
      enable = mkOption { type = types.bool; default = true; description = "Serve the binary cache from this host too."; };
      listen = mkOption { type = types.str; default = "127.0.0.1:7444"; };
      maxSize = mkOption { type = types.str; default = "0"; description = "Cache size cap (10G, 500M; 0: none)."; };
    };
    nodeGracePeriod = mkOption { type = types.ints.positive; default = 40; description = "Seconds before a silent node is NotReady."; };
    agent = {
      enable = mkOption { type = types.bool; default = false; description = "Also run a node agent on this host."; };
      nodeName = mkOption { type = types.nullOr types.str; default = null; };
    };
    openFirewall = mkOption { type = types.bool; default = false; description = "Open the API server's (and cache's) port."; };
    extraArgs = mkOption { type = types.listOf types.str; default = [ ]; };
  };

  config = mkIf cfg.enable {
    users.users.procurator = { isSystemUser = true; group = "procurator"; home = cfg.dataDir; };
    users.groups.procurator = { };
    systemd.services.procurator-control-plane = {
      description = "Procurator control plane";
      wantedBy = [ "multi-user.target" ];
      after = [ "network-online.target" ];
      wants = [ "network-online.target" ];
      serviceConfig = {
        ExecStart = escapeShellArgs ([ pctl "up" "--data-dir" cfg.dataDir "--listen" cfg.listen "--store" cfg.store
          "--node-grace-period" (toString cfg.nodeGracePeriod) ]
          ++ (if cfg.cache.enable then [ "--cache-listen" cfg.cache.listen "--cache-max-size" cfg.cache.maxSize ] else [ "--cache-listen" "none" ])
          ++ optionals (!cfg.agent.enable) [ "--no-agent" ]
          ++ optionals (cfg.agent.enable && cfg.agent.nodeName != null) [ "--node-name" cfg.agent.nodeName ]
          ++ cfg.extraArgs);
        # a node agent on this host runs QEMU and writes /nix/store: root; the control plane alone needs no privilege
        User = if cfg.agent.enable then "root" else "procurator";
        StateDirectory = mkIf (cfg.dataDir == "/var/lib/procurator") "procurator";
        Restart = "always";
        RestartSec = 2;
      };
    };
    networking.firewall.allowedTCPPorts = optionals cfg.openFirewall (
      [ (lib.toInt (lib.last (lib.splitString ":" cfg.listen))) ]
      ++ optional cfg.cache.enable (lib.toInt (lib.last (lib.splitString ":" cfg.cache.listen))));
  };
}
