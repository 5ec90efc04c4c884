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
    # the guest module's
    assertions = mkOption { type = types.listOf types.anything; default = [ ]; };
    fileSystems = mkOption { type = types.attrsOf (types.attrsOf types.anything); default = { }; };
    boot.loader.grub.enable = mkOption { type = types.bool; default = true; };
    boot.kernelParams = mkOption { type = types.listOf types.str; default = [ ]; };
    boot.initrd.availableKernelModules = mkOption { type = types.listOf types.str; default = [ ]; };
    networking.usePredictableInterfaceNames = mkOption { type = types.bool; default = true; };
    networking.useDHCP = mkOption { type = types.bool; default = true; };
    system.stateVersion = mkOption { type = types.str; default = ""; };
    services.udev.extraRules = mkOption { type = types.lines; default = ""; };
  };
}
