# A NixOS system as a Procurator microVM (QEMU's microvm machine), as microvm.nix's guest module
# makes one: the VM's closure read-only at /nix/store (the erofs image the node agent attaches as
# /dev/vda, or its 9p share), a tmpfs root, the console on ttyS0 and the ready line the agent waits
# for, the VM's Secrets over 9p (and their .env files for services), its address (QEMU's user
# network, or the one the agent puts on the kernel command line for tap), and the guest agent that
# runs exec health checks. It does in NixOS what the example guest's /init does.
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkOption mkIf mkDefault types listToAttrs imap0 nameValuePair mapAttrs mapAttrsToList
    concatMap filter elem optionalAttrs;
  cfg = config.procurator.guest;
  # the 9p tag of each Secret: the agent shares spec.secrets[i] as sec<i>
  secrets = imap0 (i: s: s // { tag = if s.tag != null then s.tag else "sec${toString i}"; }) cfg.secrets;
  secretNamed = name: lib.findFirst (s: s.name == name) null secrets;
  # the port's device unit, as systemd-escape --path names it
  agentDeviceUnit = lib.replaceStrings [ "-" "/" ] [ "\\x2d" "-" ] (lib.removePrefix "/" cfg.agent.device) + ".device";

  # the guest agent: one request at a time, a line of JSON each way, on the port named procurator.agent
  #   -> {"id":N,"exec":["cmd","arg",...],"timeoutSeconds":T}
  #   <- {"id":N,"exit":C,"output":"<the last 512 bytes of its stdout and stderr>"}
  agentScript = pkgs.writeShellScript "procurator-guest-agent" ''
    export PATH=${lib.makeBinPath [ pkgs.jq pkgs.coreutils ]}:$PATH:/run/current-system/sw/bin
    port=${cfg.agent.device}
    out=$(mktemp)
    # the port allows one open and reads end-of-file while the host side is not connected
    exec 3<>"$port"
    while true; do
      if ! IFS= read -r line <&3; then
        sleep 0.5
        continue
      fi
      id=$(jq -c '.id // 0' <<<"$line" 2>/dev/null) || id=0
      t=$(jq -r '.timeoutSeconds // 10' <<<"$line" 2>/dev/null) || t=10
      args=()
      mapfile -d "" -t args < <(jq -j '(.exec // [])[] | tostring + "\u0000"' <<<"$line" 2>/dev/null)
      if [ ''${#args[@]} -eq 0 ]; then
        code=127; echo "no command given" > "$out"
      else
        timeout "$t" "''${args[@]}" > "$out" 2>&1 < /dev/null
        code=$?
      fi
      jq -cnM --argjson id "$id" --argjson exit "$code" --arg output "$(tail -c 512 "$out")" \
        '{id: $id, exit: $exit, output: $output}' >&3
    done
  '';

  # procurator.ip=ADDR/PREFIX [procurator.gw=ADDR] on the kernel command line (tap networking);
  # without it, QEMU user networking
  networkScript = pkgs.writeShellScript "procurator-guest-network" ''
    export PATH=${lib.makeBinPath [ pkgs.iproute2 pkgs.coreutils ]}:$PATH
    addr=${cfg.network.address}; gw=${cfg.network.gateway}
    for arg in $(cat /proc/cmdline); do
      case "$arg" in
        procurator.ip=*) addr=''${arg#procurator.ip=}; gw= ;;
        procurator.gw=*) gw=''${arg#procurator.gw=} ;;
      esac
    done
    ip link set lo up
    ip link set ${cfg.network.interface} up
    ip addr replace "$addr" dev ${cfg.network.interface}
    [ -z "$gw" ] || ip route replace default via "$gw"
  '';
in
{
  options.procurator.guest = {
    enable = mkOption {
      type = types.bool; default = true;
      description = "Make this NixOS system a Procurator microVM (on by default once the module is imported).";
    };
    store = {
      share = mkOption {
        type = types.enum [ "erofs" "9p" ]; default = "erofs";
        description = ''
          How the node agent shows the guest its closure: "erofs", the image it attaches as a read-only
          virtio-blk disk (procurator.store=/dev/vda procurator.storefs=erofs), or "9p", the folder it
          shares when it cannot make an image (procurator.store=9p:store).
        '';
      };
      device = mkOption { type = types.str; default = "/dev/vda"; description = "The store disk (erofs)."; };
      tag = mkOption { type = types.str; default = "store"; description = "The 9p tag of the shared store (9p)."; };
    };
    readyAfter = mkOption {
      type = types.str; default = "multi-user.target";
      description = ''
        The unit after which the guest prints PROCURATOR-READY on ttyS0, the line the node agent waits
        for before it counts the VM started and runs its health checks (a service such as "web.service",
        or a target).
      '';
    };
    secrets = mkOption {
      default = [ ];
      description = ''
        The VM's Secrets, in the order of its spec.secrets: each is mounted read-only over 9p at its
        mountPath (files per key, and .env with KEY='value' lines).
      '';
      type = types.listOf (types.submodule {
        options = {
          name = mkOption { type = types.str; description = "The Secret's name."; };
          mountPath = mkOption { type = types.str; description = "Where the guest sees its files (spec.secrets[i].mountPath)."; };
          tag = mkOption {
            type = types.nullOr types.str; default = null;
            description = "The 9p tag; by default sec<i>, as the node agent shares spec.secrets[i].";
          };
        };
      });
    };
    secretEnvironment = mkOption {
      type = types.attrsOf (types.listOf types.str); default = { };
      example = { web = [ "db" ]; };
      description = ''
        Services that read Secrets' .env files as their environment: <service> = [ secret names ]
        adds each Secret's MOUNTPATH/.env to systemd.services.<service>.serviceConfig.EnvironmentFile
        (and waits for its mount). Each name must be one of procurator.guest.secrets.
      '';
    };
    network = {
      enable = mkOption {
        type = types.bool; default = true;
        description = ''
          Give the VM's network device its address at boot: procurator.ip=ADDR/PREFIX and procurator.gw=ADDR
          from the kernel command line (a tap VM), otherwise address and gateway (QEMU's user network).
        '';
      };
      interface = mkOption { type = types.str; default = "eth0"; description = "The virtio-net device."; };
      address = mkOption { type = types.str; default = "10.0.2.15/24"; description = "The address without procurator.ip= (QEMU's user network)."; };
      gateway = mkOption { type = types.str; default = "10.0.2.2"; description = "The gateway without procurator.ip= (QEMU's user network)."; };
    };
    agent = {
      enable = mkOption {
        type = types.bool; default = true;
        description = "Run the guest agent, which runs the VM's exec health checks.";
      };
      device = mkOption {
        type = types.str; default = "/dev/virtio-ports/procurator.agent";
        description = "The virtio-serial port the node agent talks to.";
      };
      path = mkOption {
        type = types.listOf types.package; default = [ ];
        description = "Packages on the PATH of the commands exec checks run (besides the system's).";
      };
    };
  };

  config = mkIf cfg.enable {
    assertions = mapAttrsToList (service: names: {
      assertion = filter (n: secretNamed n == null) names == [ ];
      message = "procurator.guest.secretEnvironment.${service} names a Secret that procurator.guest.secrets does not mount: "
        + lib.concatStringsSep ", " (filter (n: secretNamed n == null) names);
    }) cfg.secretEnvironment;

    boot.loader.grub.enable = false;
    boot.kernelParams = [ "console=ttyS0" ];
    boot.initrd.availableKernelModules = [ "virtio_mmio" "virtio_blk" "virtio_net" "virtio_console" "erofs" "9p" "9pnet_virtio" ];

    fileSystems = {
      "/" = { device = "none"; fsType = "tmpfs"; options = [ "mode=0755" ]; };
      "/nix/store" = if cfg.store.share == "erofs"
        then { device = cfg.store.device; fsType = "erofs"; options = [ "ro" ]; neededForBoot = true; }
        else { device = cfg.store.tag; fsType = "9p"; options = [ "trans=virtio" "version=9p2000.L" "ro" "msize=262144" ]; neededForBoot = true; };
    } // listToAttrs (map (s: nameValuePair s.mountPath {
      device = s.tag; fsType = "9p"; options = [ "trans=virtio" "version=9p2000.L" "ro" "cache=none" ];
    }) secrets);

    # eth0, as the example guest and the defaults above name it
    networking.usePredictableInterfaceNames = mkDefault false;
    networking.useDHCP = mkIf cfg.network.enable (mkDefault false);

    services.udev.extraRules = mkIf cfg.agent.enable ''
      SUBSYSTEM=="virtio-ports", ATTR{name}=="${lib.last (lib.splitString "/" cfg.agent.device)}", TAG+="systemd", ENV{SYSTEMD_WANTS}+="procurator-guest-agent.service"
    '';

    systemd.services = {
      procurator-ready = {
        description = "Tell the node agent the guest is ready";
        after = [ cfg.readyAfter ];
        wantedBy = [ cfg.readyAfter ];
        serviceConfig = {
          Type = "oneshot";
          RemainAfterExit = true;
          ExecStart = "${pkgs.runtimeShell} -c 'echo PROCURATOR-READY > /dev/ttyS0'";
        };
      };
    } // optionalAttrs cfg.network.enable {
      procurator-network = {
        description = "The VM's address, from the kernel command line or QEMU's user network";
        wantedBy = [ "network.target" ];
        before = [ "network.target" ];
        wants = [ "network-pre.target" ];
        after = [ "network-pre.target" ];
        serviceConfig = { Type = "oneshot"; RemainAfterExit = true; ExecStart = "${networkScript}"; };
      };
    } // optionalAttrs cfg.agent.enable {
      # started by udev when the port appears (below), and stopped with it; a VM without the port
      # (another hypervisor) never waits for it
      procurator-guest-agent = {
        description = "Procurator guest agent (exec health checks)";
        bindsTo = [ agentDeviceUnit ];
        after = [ agentDeviceUnit ];
        path = cfg.agent.path;
        serviceConfig = { ExecStart = "${agentScript}"; Restart = "always"; RestartSec = 1; };
      };
    } // mapAttrs (service: names: let found = filter (s: s != null) (map secretNamed names); in {
      unitConfig.RequiresMountsFor = map (s: s.mountPath) found;
      serviceConfig.EnvironmentFile = map (s: "${s.mountPath}/.env") found;
    }) cfg.secretEnvironment;
  };
}
