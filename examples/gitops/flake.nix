{
  description = "A Procurator cluster whose VM image is built from this repository";

  # No inputs: the guest is built with builtins only, so it builds on hosts without nixpkgs.
  outputs = { self }:
    let
      guest = import ./nix/guest.nix;
      settings = import ./guest.nix;
    in {
      packages.x86_64-linux.web = guest {
        name = "web";
        inherit (settings) version healthy;
        kernel = ./guest/vmlinux;
        initrd = ./guest/initrd.cpio.gz;
      };
      packages.x86_64-linux.default = self.packages.x86_64-linux.web;
    };
}
