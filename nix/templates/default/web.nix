# The web role's guest: a small NixOS for QEMU's microvm machine that serves /healthz on 8080 and
# prints the ready line Procurator waits for on the serial console.
{ pkgs, modulesPath, ... }:
{
  imports = [ (modulesPath + "/profiles/minimal.nix") ];
  boot.loader.grub.enable = false;
  boot.kernelParams = [ "console=ttyS0" ];
  boot.initrd.availableKernelModules = [ "virtio_mmio" "virtio_net" "virtio_blk" "9p" "9pnet_virtio" ];
  fileSystems."/" = { device = "none"; fsType = "tmpfs"; options = [ "mode=0755" ]; };
  networking.firewall.allowedTCPPorts = [ 8080 ];
  systemd.services.web = {
    wantedBy = [ "multi-user.target" ];
    script = ''
      mkdir -p /srv/www && echo ok > /srv/www/healthz
      echo PROCURATOR-READY > /dev/ttyS0
      exec ${pkgs.busybox}/bin/httpd -f -p 8080 -h /srv/www
    '';
  };
  system.stateVersion = "25.05";
}
