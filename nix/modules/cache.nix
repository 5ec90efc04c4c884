# The binary cache on its own host: `pctl cache`, Nix's HTTP binary cache protocol with signed
# narinfos, push and read tokens, pins and a size cap (local disk or S3).
{ config, lib, ... }:
let
  inherit (lib) mkOption mkEnableOption mkIf types optionals escapeShellArgs;
  cfg = config.services.procurator.cache;
in
{
  options.services.procurator.cache = {
    enable = mkEnableOption "the Procurator binary cache";
    package = mkOption { type = types.either types.package types.str; description = "The package holding bin/pctl."; };
    dir = mkOption { type = types.str; default = "/var/lib/procurator-cache"; description = "Signing key, tokens and NARs."; };
    listen = mkOption { type = types.str; default = "127.0.0.1:7444"; };
    keyName = mkOption { type = types.str; default = "procurator-cache-1"; description = "Name of the signing key."; };
    maxSize = mkOption { type = types.str; default = "0"; description = "Size cap (10G, 500M; 0: none): least recently used, unpinned paths go."; };
    anonymousRead = mkOption { type = types.bool; default = false; description = "Serve reads without a token."; };
    priority = mkOption { type = types.ints.unsigned; default = 40; description = "Priority in nix-cache-info (lower first)."; };
    s3 = {
      endpoint = mkOption { type = types.nullOr types.str; default = null; };
      bucket = mkOption { type = types.nullOr types.str; default = null; };
      prefix = mkOption { type = types.str; default = ""; };
      region = mkOption { type = types.str; default = "us-east-1"; };
    };
    openFirewall = mkOption { type = types.bool; default = false; };
  };

  config = mkIf cfg.enable {
    users.users.procurator-cache = { isSystemUser = true; group = "procurator-cache"; home = cfg.dir; };
    users.groups.procurator-cache = { };
    systemd.services.procurator-cache = {
      description = "Procurator binary cache";
      wantedBy = [ "multi-user.target" ];
      after = [ "network-online.target" ];
      wants = [ "network-online.target" ];
      serviceConfig = {
        ExecStart = escapeShellArgs ([ "${cfg.package}/bin/pctl" "cache" "--dir" cfg.dir "--listen" cfg.listen "--key-name" cfg.keyName
          "--max-size" cfg.maxSize "--priority" (toString cfg.priority) ]
          ++ optionals cfg.anonymousRead [ "--anonymous-read" ]
          ++ optionals (cfg.s3.endpoint != null) [ "--s3-endpoint" cfg.s3.endpoint ]
          ++ optionals (cfg.s3.bucket != null) [ "--s3-bucket" cfg.s3.bucket "--s3-prefix" cfg.s3.prefix "--s3-region" cfg.s3.region ]);
        User = "procurator-cache";
        StateDirectory = mkIf (cfg.dir == "/var/lib/procurator-cache") "procurator-cache";
        Restart = "always";
        RestartSec = 2;
      };
    };
    networking.firewall.allowedTCPPorts = optionals cfg.openFirewall [ (lib.toInt (lib.last (lib.splitString ":" cfg.listen))) ];
  };
}
