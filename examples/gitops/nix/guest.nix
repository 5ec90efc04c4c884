# A VM closure with builtins only: the example guest's kernel (linked, so every revision shares
# one store path of it), its initrd with a second cpio archive appended that adds
# /etc/procurator/rc, and an init. The node agent boots DIR/kernel, DIR/initrd and init=DIR/init.
{ name, version, healthy, kernel, initrd }:
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
