#!/usr/bin/env bash
# Builds the example guest that examples/vm-*.yaml boot: a Debian kernel (as the uncompressed
# ELF vmlinux that QEMU's microvm machine boots directly, PVH) and a busybox initramfs whose /init
# brings up the network, runs /etc/procurator/rc if an image appended one, serves HTTP on port 8080
# (GET /healthz; with procurator.healthy-for=SECONDS on the command line, only that long), prints
#   PROCURATOR-READY
# on the serial console, and powers off when the host asks over ACPI (QMP system_powerdown).
# Before that line it starts its guest agent (/bin/procurator-agent) on the virtio-serial port named
# procurator.agent, which runs the node agent's exec health checks; procurator.agent=off on the
# command line leaves it out (a guest without one, for tests).
# When the command line names a store (procurator.store=/dev/vda procurator.storefs=erofs, or
# procurator.store=9p:TAG) it mounts it read-only at /nix/store first, and when init=PATH names a
# program that only that store holds, it hands over to it (stage 1 to stage 2, as NixOS does) with
# PROCURATOR_STAGE2=1 set; that program may exec /init to carry on as above.
# Nothing is installed: the kernel .deb is only downloaded and unpacked.
#
# usage: examples/guest/build.sh OUT_DIR      (writes OUT_DIR/vmlinux, OUT_DIR/initrd.cpio.gz)
set -euo pipefail
out=${1:?usage: build.sh OUT_DIR}
mkdir -p "$out"
# bump when the guest changes, so images built by an older script are built again
version=9
if [ -s "$out/vmlinux" ] && [ -s "$out/initrd.cpio.gz" ] && [ "$(cat "$out/VERSION" 2>/dev/null)" = "$version" ]; then
  exit 0
fi
echo "building the example guest into $out (a Debian kernel and a busybox initramfs; once)" >&2
need() { command -v "$1" >/dev/null || { echo "build.sh: $1 is needed (apt-get install $2)" >&2; exit 1; }; }
need cpio cpio; need xz xz-utils; need dpkg-deb dpkg
[ -x /bin/busybox ] || { echo "build.sh: /bin/busybox is needed (apt-get install busybox-static)" >&2; exit 1; }
case "$(ldd /bin/busybox 2>&1 || true)" in
  *"not a dynamic"*) ;;
  *) echo "build.sh: /bin/busybox must be static (apt-get install busybox-static)" >&2; exit 1 ;;
esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# the kernel: the newest linux-image-*-amd64 that Debian's metapackage points at
pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
[ -n "$pkg" ] || { apt-get update -qq >&2; pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}'); }
(cd "$work" && apt-get download -qq "$pkg" >&2 2>/dev/null || apt-get download "$pkg" >&2)
dpkg-deb -x "$work"/linux-image-*.deb "$work/k"
release=$(ls "$work/k/lib/modules")
bz="$work/k/boot/vmlinuz-$release"
# the bzImage carries the kernel as an xz stream: find it and unpack the ELF
offset=$(grep -abo $'\xfd7zXZ\x00' "$bz" | head -1 | cut -d: -f1)
tail -c +"$((offset + 1))" "$bz" | xz -dc --single-stream > "$work/vmlinux" 2>/dev/null || true
head -c 4 "$work/vmlinux" | grep -q $'\x7fELF' || { echo "build.sh: no ELF kernel inside $bz" >&2; exit 1; }

# the initramfs
root="$work/root"
mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,www,etc/acpi/PWRF,lib/modules,run}
cp /bin/busybox "$root/bin/busybox"
for m in kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio_mmio.ko \
         kernel/net/core/failover.ko kernel/drivers/net/net_failover.ko kernel/drivers/net/virtio_net.ko \
         kernel/drivers/char/virtio_console.ko kernel/drivers/acpi/button.ko kernel/drivers/input/evdev.ko \
         kernel/fs/netfs/netfs.ko kernel/fs/fscache/fscache.ko kernel/net/9p/9pnet.ko kernel/net/9p/9pnet_virtio.ko \
         kernel/fs/9p/9p.ko kernel/drivers/block/virtio_blk.ko kernel/crypto/crc32c_generic.ko kernel/lib/libcrc32c.ko \
         kernel/fs/erofs/erofs.ko; do
  f="$work/k/lib/modules/$release/$m"
  if [ -f "$f" ]; then
    cp "$f" "$root/lib/modules/"
  elif [ -f "$f.xz" ]; then
    xz -dc "$f.xz" > "$root/lib/modules/$(basename "$f")"
  fi
done
echo ok > "$root/www/healthz"
# acpid: the power button's event runs /etc/acpi/PWRF/00000080
printf 'PWRF PWRF/00000080\n' > "$root/etc/acpid.conf"
cat > "$root/etc/acpi/PWRF/00000080" <<'SH'
#!/bin/sh
echo "PROCURATOR-POWEROFF" > /dev/ttyS0
poweroff -f
SH
chmod +x "$root/etc/acpi/PWRF/00000080"
# the guest agent: one request at a time, a line of JSON each way, on the port named procurator.agent
#   -> {"id":N,"exec":["cmd","arg",...],"timeoutSeconds":T}
#   <- {"id":N,"exit":C,"output":"<the last 512 bytes of its stdout and stderr>"}
cat > "$root/etc/procurator-agent.awk" <<'AWK'
# a request line to shell words for eval: id=N t=T; set -- 'arg' ... (each argument single-quoted)
function hex(h,   i, n, d) {
  n = 0
  for (i = 1; i <= length(h); i++) { d = index("0123456789abcdef", tolower(substr(h, i, 1))) - 1; n = n * 16 + d }
  return n
}
{
  s = $0; id = 0; t = 10; q = ""
  if (match(s, /"id"[ \t]*:[ \t]*[0-9]+/)) { id = substr(s, RSTART, RLENGTH); sub(/.*:[ \t]*/, "", id) }
  if (match(s, /"timeoutSeconds"[ \t]*:[ \t]*[0-9]+/)) { t = substr(s, RSTART, RLENGTH); sub(/.*:[ \t]*/, "", t) }
  if (match(s, /"exec"[ \t]*:[ \t]*\[/)) {
    i = RSTART + RLENGTH; n = length(s)
    while (i <= n) {
      c = substr(s, i, 1)
      if (c == "]") break
      if (c == "\"") {
        a = "'"; i++
        while (i <= n) {
          c = substr(s, i, 1)
          if (c == "\"") break
          if (c == "\\") {
            i++; c = substr(s, i, 1)
            if (c == "n") c = "\n"; else if (c == "t") c = "\t"; else if (c == "r") c = "\r"
            else if (c == "b") c = "\b"; else if (c == "f") c = "\f"
            else if (c == "u") { v = hex(substr(s, i + 1, 4)); i += 4; c = v < 128 ? sprintf("%c", v) : "?" }
          }
          a = a (c == "'" ? "'\\''" : c)
          i++
        }
        q = q " " a "'"
      }
      i++
    }
  }
  print "id=" id " t=" t "; set --" q
}
AWK
cat > "$root/etc/procurator-agent-escape.awk" <<'AWK'
# stdin as the inside of a JSON string: backslash and quote escaped, lines joined by \n, other control characters as spaces
BEGIN { ORS = "" }
{
  if (NR > 1) printf "%s", "\\n"
  n = length($0)
  for (i = 1; i <= n; i++) {
    c = substr($0, i, 1)
    if (c == "\\") printf "%s", "\\\\"; else if (c == "\"") printf "%s", "\\\""; else if (c < " ") printf " "; else printf "%s", c
  }
}
AWK
cat > "$root/bin/procurator-agent" <<'SH'
#!/bin/sh
port=
i=0
while [ -z "$port" ] && [ $i -lt 100 ]; do
  for p in /sys/class/virtio-ports/*; do
    [ "$(cat "$p/name" 2>/dev/null)" = procurator.agent ] && [ -c "/dev/${p##*/}" ] && port=/dev/${p##*/}
  done
  [ -n "$port" ] || { sleep 0.05; i=$((i + 1)); }
done
if [ -z "$port" ]; then
  echo "PROCURATOR-AGENT-NO-PORT" > /dev/ttyS0
  exit 0
fi
# the port allows one open and reads end-of-file while the host side is not connected
exec 3<>"$port"
while true; do
  if ! IFS= read -r line <&3; then
    sleep 0.5
    continue
  fi
  id=0; t=10; set --
  eval "$(printf '%s\n' "$line" | awk -f /etc/procurator-agent.awk)"
  if [ $# -eq 0 ]; then
    code=127; echo "no command given" > /tmp/agent.out
  else
    timeout "$t" "$@" > /tmp/agent.out 2>&1 < /dev/null
    code=$?
  fi
  out=$(tail -c 512 /tmp/agent.out | awk -f /etc/procurator-agent-escape.awk)
  echo "{\"id\":$id,\"exit\":$code,\"output\":\"$out\"}" >&3
done
SH
chmod +x "$root/bin/procurator-agent"
cat > "$root/init" <<'SH'
#!/bin/busybox sh
export PATH=/bin
if [ -z "$PROCURATOR_STAGE2" ]; then
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in virtio_ring virtio virtio_mmio failover net_failover virtio_net virtio_console button evdev netfs fscache 9pnet 9pnet_virtio 9p \
         virtio_blk crc32c_generic libcrc32c erofs; do
  [ -f /lib/modules/$m.ko ] && insmod /lib/modules/$m.ko 2>/dev/null
done
# procurator.store=DEVICE [procurator.storefs=TYPE] or procurator.store=9p:TAG: the VM's closure, read-only at /nix/store
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    procurator.store=*) store=${arg#procurator.store=} ;;
    procurator.storefs=*) storefs=${arg#procurator.storefs=} ;;
    init=*) stage2=${arg#init=} ;;
  esac
done
if [ -n "$store" ]; then
  [ -e "$stage2" ] && stage2=   # hand over only to an init that the store brings
  mkdir -p /nix/store
  case "$store" in
    9p:*) mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144 "${store#9p:}" /nix/store ;;
    *) i=0; while [ ! -b "$store" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
       mount -t "${storefs:-erofs}" -o ro "$store" /nix/store ;;
  esac || echo "PROCURATOR-STORE-FAILED $store" > /dev/ttyS0
  if [ -n "$stage2" ] && [ -x "$stage2" ]; then
    echo "PROCURATOR-STAGE2 $stage2" > /dev/ttyS0
    PROCURATOR_STAGE2=1 exec "$stage2"
  fi
fi
fi
ip link set lo up
# procurator.ip=ADDR/PREFIX [procurator.gw=ADDR] on the kernel command line (tap networking);
# without it, QEMU user networking: the guest is 10.0.2.15, the host side 10.0.2.2
addr=10.0.2.15/24; gw=10.0.2.2
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    procurator.ip=*) addr=${arg#procurator.ip=}; gw= ;;
    procurator.gw=*) gw=${arg#procurator.gw=} ;;
    procurator.probe=*) probe=${arg#procurator.probe=} ;;
    procurator.healthy-for=*) healthy_for=${arg#procurator.healthy-for=} ;;
    procurator.mount=*) mounts="$mounts ${arg#procurator.mount=}" ;;
    procurator.agent=*) agent=${arg#procurator.agent=} ;;
  esac
done
# procurator.mount=TAG:PATH: a host folder (the VM's Secrets) shared read-only over virtio-9p
for m in $mounts; do
  mkdir -p "${m#*:}"
  mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=none "${m%%:*}" "${m#*:}" \
    || echo "PROCURATOR-MOUNT-FAILED $m" > /dev/ttyS0
done
if ip link set eth0 up 2>/dev/null; then
  ip addr add "$addr" dev eth0
  [ -z "$gw" ] || ip route add default via "$gw"
fi
# procurator.probe=HOST:PORT: says on the console whether the guest can open HOST:PORT (isolation tests)
if [ -n "$probe" ]; then
  if echo | nc -w 3 "${probe%:*}" "${probe##*:}" >/dev/null 2>&1; then r=reachable; else r=unreachable; fi
  echo "PROCURATOR-PROBE $probe $r" > /dev/ttyS0
fi
# /etc/procurator/rc, when an image adds one (a second cpio archive appended to this initrd), runs before the guest serves
[ -x /etc/procurator/rc ] && /etc/procurator/rc
httpd -p 8080 -h /www
# procurator.healthy-for=SECONDS: /healthz answers 404 from then on (a guest that turns bad after it
# looked fine, for trying a canary's analysis)
[ -z "$healthy_for" ] || (sleep "$healthy_for"; rm -f /www/healthz; echo "PROCURATOR-UNHEALTHY" > /dev/ttyS0) &
# acpid must run before readiness is announced, or a power button press is lost
acpid -c /etc/acpi -l /tmp/acpid.log -p /tmp/acpid.pid -a /etc/acpid.conf
# the guest agent, for exec health checks (procurator.agent=off: none)
[ "$agent" = off ] || /bin/procurator-agent &

echo "PROCURATOR-READY $(uname -r)" > /dev/ttyS0
while true; do sleep 3600; done
SH
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -9) > "$work/initrd.cpio.gz"
mv "$work/vmlinux" "$out/vmlinux.tmp" && mv "$out/vmlinux.tmp" "$out/vmlinux"
mv "$work/initrd.cpio.gz" "$out/initrd.cpio.gz.tmp" && mv "$out/initrd.cpio.gz.tmp" "$out/initrd.cpio.gz"
echo "$version" > "$out/VERSION"
echo "built $out/vmlinux ($release) and $out/initrd.cpio.gz" >&2
