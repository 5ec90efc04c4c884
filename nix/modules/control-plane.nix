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
    prometheus.scrape = mkOption {
      type = types.bool;
      default = false;
      description = ''
        Have this host's services.prometheus scrape the cluster as pctl up's own Prometheus does (which
        the service never starts: NixOS runs Prometheus): the API server and every Ready node's agent,
        found through /sd/prometheus, and this host's cache; as pctl up's Prometheus user (bound to
        system:monitoring), with Procurator's alert rules.
      '';
    };
    openFirewall = mkOption { type = types.bool; default = false; description = "Open the API server's (and cache's) port."; };
    extraArgs = mkOption { type = types.listOf types.str; default = [ ]; };
  };

  config = mkIf cfg.enable (lib.mkMerge [ {
    users.users.procurator = { isSystemUser = true; group = "procurator"; home = cfg.dataDir; };
    users.groups.procurator = { };
    systemd.services.procurator-control-plane = {
      description = "Procurator control plane";
      wantedBy = [ "multi-user.target" ];
      after = [ "network-online.target" ];
      wants = [ "network-online.target" ];
      serviceConfig = {
        ExecStart = escapeShellArgs ([ pctl "up" "--data-dir" cfg.dataDir "--listen" cfg.listen "--store" cfg.store
          "--node-grace-period" (toString cfg.nodeGracePeriod) "--no-prometheus" ]
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
  } (mkIf cfg.prometheus.scrape (
    let
      # pctl up's files are its owner's only: systemd hands Prometheus copies
      creds = "/run/credentials/prometheus.service";
      hostPort = host: port: "${if host == "0.0.0.0" then "127.0.0.1" else host}:${port}";
      apiParts = lib.splitString ":" cfg.listen;
      api = "https://${hostPort (lib.head apiParts) (lib.last apiParts)}";
      cacheParts = lib.splitString ":" cfg.cache.listen;
      sd = {
        http_sd_configs = [ {
          url = "${api}/sd/prometheus";
          authorization = { type = "Bearer"; credentials_file = "${creds}/procurator-token"; };
          tls_config.ca_file = "${creds}/procurator-ca";
        } ];
        authorization = { type = "Bearer"; credentials_file = "${creds}/procurator-token"; };
      };
    in {
      services.prometheus = {
        enable = true;
        ruleFiles = [ ../../observability/alerts.yml ];
        scrapeConfigs = [
          (sd // { job_name = "procurator-apiserver"; tls_config.ca_file = "${creds}/procurator-ca";
                   relabel_configs = [ { source_labels = [ "job" ]; regex = "procurator-apiserver"; action = "keep"; } ]; })
          # an agent's certificate names its node (system:node:NAME), not its address
          (sd // { job_name = "procurator-agent"; tls_config = { ca_file = "${creds}/procurator-ca"; insecure_skip_verify = true; };
                   relabel_configs = [ { source_labels = [ "job" ]; regex = "procurator-agent"; action = "keep"; } ]; })
        ] ++ optional cfg.cache.enable {
          job_name = "procurator-cache";
          static_configs = [ { targets = [ (hostPort (lib.head cacheParts) (lib.last cacheParts)) ]; } ];
          basic_auth = { username = "nix"; password_file = "${creds}/procurator-cache-token"; };
        };
      };
      systemd.services.prometheus = {
        after = [ "procurator-control-plane.service" ];
        wants = [ "procurator-control-plane.service" ];
        serviceConfig.LoadCredential = [ "procurator-token:${cfg.dataDir}/prometheus-token" "procurator-ca:${cfg.dataDir}/pki/ca.crt" ]
          ++ optional cfg.cache.enable "procurator-cache-token:${cfg.dataDir}/cache-read-token";
      };
    })) ]);
}
