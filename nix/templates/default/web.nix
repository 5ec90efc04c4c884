# The web role's guest: a small NixOS that serves /healthz on 8080. procurator.nixosModules.guest
# (imported in flake.nix) gives it the VM's store, console, network and guest agent, and prints the
# ready line Procurator waits for once the web service has started.
{ pkgs, modulesPath, ... }:
{
  imports = [ (modulesPath + "/profiles/minimal.nix") ];
  procurator.guest.readyAfter = "web.service";
  networking.firewall.allowedTCPPorts = [ 8080 ];
  systemd.services.web = {
    wantedBy = [ "multi-user.target" ];
    script = ''
      mkdir -p /srv/www && echo ok > /srv/www/healthz
      exec ${pkgs.busybox}/bin/httpd -f -p 8080 -h /srv/www
    '';
  };
  system.stateVersion = "25.05";
}
