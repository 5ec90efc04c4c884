# Stands for nixpkgs' nixos/modules/profiles/minimal.nix when the template's guest is evaluated
# against the stubs (guest.nix gives it as modulesPath).
{ }
