# The few NixOS options the Procurator modules set, declared loosely, so the modules evaluate with
# nixpkgs' lib alone (no nixpkgs): a test looks at what they set.
{ lib, ... }:
let inherit (lib) mkOption types; in
{
  options = {
    systemd.services = mkOption { type = types.attrsOf (types.attrsOf types.anything); default = { }; };
    users.users = mkOption { type = types.attrsOf (types.attrsOf types.anything); default = { }; };
    users.groups = mkOption { type = types.attrsOf (types.attrsOf types.anything); default = { }; };
    networking.firewall.allowedTCPPorts = mkOption { type = types.listOf types.port; default = [ ]; };
    services.prometheus = mkOption { type = types.attrsOf types.anything; default = { }; };
  };
}
