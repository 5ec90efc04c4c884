# A VM closure with builtins only: the example guest's kernel (linked, so every revision shares
# one store path of it), its initrd with a second cpio archive appended that adds
# /etc/procurator/rc, and an init. The node agent boots DIR/kernel, DIR/initrd and init=DIR/init,
# and shows the guest this closure's store, read-only, at /nix/store.
# With fromStore = true the initrd is the example's as it is, and the rc is a store path of its
# own that init runs before it goes back to /init: such a closure boots only where its store is
# mounted (the guest's stage 1 mounts it and hands over to init, as NixOS's stage 1 does).
{ name, version, healthy, kernel, initrd, fromStore ? false }:
if fromStore then
  let
    rc = derivation {
      name = "${name}-rc-${version}";
      system = "x86_64-linux";
      builder = "/bin/sh";
      inherit version;
      healthy = if healthy then "1" else "";
      args = [ "-c" ''
        export PATH=/usr/bin:/bin
        {
          echo '#!/bin/sh'
          echo "echo $version > /www/version"
          [ -n "$healthy" ] || echo 'rm -f /www/healthz'
        } > "$out"
        chmod +x "$out"
      '' ];
    };
  in derivation {
    name = "${name}-guest-${version}";
    system = "x86_64-linux";
    builder = "/bin/sh";
    inherit kernel initrd rc;
    args = [ "-c" ''
      set -e
      export PATH=/usr/bin:/bin
      mkdir -p "$out"
      ln -s "$kernel" "$out/kernel"
      ln -s "$initrd" "$out/initrd"
      printf '#!/bin/sh\n%s\nexec /init\n' "$rc" > "$out/init"
      chmod +x "$out/init"
      echo "built ${name} guest version $version, its rc in the store"
    '' ];
  }
else
derivation {
  name = "${name}-guest-${version}";
  system = "x86_64-linux";
  builder = "/bin/sh";
  inherit kernel initrd version;
  healthy = if healthy then "1" else "";
  args = [ "-c" ''
    set -e
    export PATH=/usr/bin:/bin
    mkdir -p "$out" overlay/etc/procurator
    ln -s "$kernel" "$out/kernel"
    {
      echo '#!/bin/sh'
      echo "echo $version > /www/version"
      [ -n "$healthy" ] || echo 'rm -f /www/healthz'
    } > overlay/etc/procurator/rc
    chmod +x overlay/etc/procurator/rc
    (cd overlay && find . | cpio -o -H newc --quiet | gzip -9) > overlay.cpio.gz
    cat "$initrd" overlay.cpio.gz > "$out/initrd"
    printf '#!/bin/sh\nexec /init\n' > "$out/init"
    chmod +x "$out/init"
    echo "built ${name} guest version $version"
  '' ];
}
