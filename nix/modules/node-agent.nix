# A node agent as a NixOS service: `pctl agent`, which runs this host's microVMs and, when the
# host is a builder, its Builds. It needs QEMU and the nix client on its PATH.
{ config, lib, ... }:
let
  inherit (lib) mkOption mkEnableOption mkIf types optionals escapeShellArgs concatStringsSep mapAttrsToList;
  cfg = config.services.procurator.agent;
  # a node that joins may not label itself (labels under procurator.dev/ are an admin's): only one
  # run with a kubeconfig is labelled a builder here
  labels = cfg.labels // lib.optionalAttrs (cfg.builder.enable && cfg.join.server == null) { "procurator.dev/builder" = "true"; };
in
{
  options.services.procurator.agent = {
    enable = mkEnableOption "the Procurator node agent";
    package = mkOption { type = types.either types.package types.str; description = "The package holding bin/pctl."; };
    nodeName = mkOption { type = types.nullOr types.str; default = null; description = "Node name (default: the host name)."; };
    kubeconfig = mkOption { type = types.nullOr types.str; default = null;
      description = "A kubeconfig for the API server (a file; keep it out of the store). Not needed when the node joins."; };
    join = {
      server = mkOption { type = types.nullOr types.str; default = null; description = "The API server's URL, for a node that joins."; };
      caFile = mkOption { type = types.nullOr types.str; default = null; description = "The cluster CA certificate."; };
      tokenFile = mkOption { type = types.nullOr types.str; default = null;
        description = "A file holding a one-time join token ('pctl token create --join'); used once, then the node renews its own certificate."; };
      certTtl = mkOption { type = types.str; default = "24h"; description = "Lifetime of the node's certificates."; };
    };
    dataDir = mkOption { type = types.str; default = "/var/lib/procurator-agent"; };
    imagesDir = mkOption { type = types.nullOr types.str; default = null; description = "Where relative kernel and initrd paths are found."; };
    listen = mkOption { type = types.str; default = "127.0.0.1:10250"; description = "host:port of the logs and metrics endpoint."; };
    labels = mkOption { type = types.attrsOf types.str; default = { }; description = "Node labels."; };
    leaseDuration = mkOption { type = types.ints.positive; default = 40; };
    cpuOvercommit = mkOption { type = types.ints.positive; default = 4; };
    cache = {
      url = mkOption { type = types.nullOr types.str; default = null; description = "The binary cache closures are pulled from."; };
      publicKeyFile = mkOption { type = types.nullOr types.str; default = null; description = "The cache's signing key (NAME:BASE64)."; };
    };
    builder = {
      enable = mkOption { type = types.bool; default = false; description = "Run Builds here. A node that joins is made a builder by an admin (kubectl label nodes.procurator.dev NAME procurator.dev/builder=true); one run with a kubeconfig labels itself."; };
      maxBuilds = mkOption { type = types.ints.unsigned; default = 1; description = "Builds run at once."; };
      cacheUrl = mkOption { type = types.nullOr types.str; default = null; description = "The cache a Build that names none pushes to."; };
      pushTokenFile = mkOption { type = types.nullOr types.str; default = null; description = "A file holding that cache's push token."; };
    };
    tap = {
      bridge = mkOption { type = types.nullOr types.str; default = null; description = "Bridge that tap-networked VMs join."; };
      netns = mkOption { type = types.nullOr types.str; default = null; };
    };
    openFirewall = mkOption { type = types.bool; default = false; description = "Open the logs endpoint's port (for the API server)."; };
  };

  config = mkIf cfg.enable {
    systemd.services.procurator-agent = {
      description = "Procurator node agent";
      wantedBy = [ "multi-user.target" ];
      after = [ "network-online.target" ];
      wants = [ "network-online.target" ];
      serviceConfig = {
        ExecStart = escapeShellArgs ([ "${cfg.package}/bin/pctl" ]
          ++ optionals (cfg.kubeconfig != null) [ "--kubeconfig" cfg.kubeconfig ]
          ++ optionals (cfg.join.server != null) [ "--server" cfg.join.server ]
          ++ [ "agent" "--data-dir" cfg.dataDir
          "--listen" cfg.listen "--lease-duration" (toString cfg.leaseDuration) "--cpu-overcommit" (toString cfg.cpuOvercommit)
          "--max-builds" (toString (if cfg.builder.enable then cfg.builder.maxBuilds else 0)) ]
          ++ optionals (cfg.join.server != null) [ "--ca-file" cfg.join.caFile "--cert-ttl" cfg.join.certTtl ]
          ++ optionals (cfg.join.tokenFile != null) [ "--join-token-file" cfg.join.tokenFile ]
          ++ optionals (cfg.nodeName != null) [ "--name" cfg.nodeName ]
          ++ optionals (cfg.imagesDir != null) [ "--images-dir" cfg.imagesDir ]
          ++ optionals (labels != { }) [ "--labels" (concatStringsSep "," (mapAttrsToList (k: v: "${k}=${v}") labels)) ]
          ++ optionals (cfg.cache.url != null) [ "--cache-url" cfg.cache.url ]
          ++ optionals (cfg.cache.publicKeyFile != null) [ "--cache-public-key" cfg.cache.publicKeyFile ]
          ++ optionals (cfg.builder.cacheUrl != null) [ "--build-cache-url" cfg.builder.cacheUrl ]
          ++ optionals (cfg.builder.pushTokenFile != null) [ "--build-push-token-file" cfg.builder.pushTokenFile ]
          ++ optionals (cfg.tap.bridge != null) [ "--tap-bridge" cfg.tap.bridge ]
          ++ optionals (cfg.tap.netns != null) [ "--netns" cfg.tap.netns ]);
        # QEMU, tap devices, cgroups and /nix/store: the agent runs as root, as a kubelet does
        User = "root";
        StateDirectory = mkIf (cfg.dataDir == "/var/lib/procurator-agent") "procurator-agent";
        # VMs outlive a restart of the agent, which adopts them: only the agent's own process is stopped
        KillMode = "process";
        Restart = "always";
        RestartSec = 2;
      };
    };
    networking.firewall.allowedTCPPorts = optionals cfg.openFirewall [ (lib.toInt (lib.last (lib.splitString ":" cfg.listen))) ];
  };
}
