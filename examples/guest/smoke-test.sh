#!/usr/bin/env bash
# Boots the example guest once under QEMU's microvm machine (TCG, as on hosts without usable
# KVM) and checks what a node agent relies on: the ready line on the serial console, the HTTP
# health check through a port forwarded to 127.0.0.1, and a clean poweroff on QMP
# system_powerdown. Prints one line per check and "N passed, N failed".
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
for tool in python3:python3 bc:bc curl:curl qemu-system-x86_64:qemu-system-x86; do
  command -v "${tool%%:*}" >/dev/null || { echo "smoke-test.sh: ${tool%%:*} is needed (apt-get install ${tool#*:})" >&2; exit 1; }
done
images=${1:-$(mktemp -d)}
"$here/build.sh" "$images" || exit 1
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mhz=$(awk -F: '/cpu MHz/ {printf "%d", $2; exit}' /proc/cpuinfo)
passed=0; failed=0
check() { if [ "$2" = 0 ]; then echo "ok: $1"; passed=$((passed+1)); else echo "FAILED: $1"; failed=$((failed+1)); fi; }
start=$(date +%s.%N)
qemu-system-x86_64 -M microvm,acpi=on -accel tcg -m 128 -smp 1 -nodefaults -no-user-config -nographic \
  -kernel "$images/vmlinux" -initrd "$images/initrd.cpio.gz" \
  -append "console=ttyS0 quiet tsc_early_khz=$((mhz * 1000))" -serial "file:$work/serial.log" \
  -global virtio-mmio.force-legacy=false \
  -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$port-:8080" -device virtio-net-device,netdev=n0 \
  -qmp "unix:$work/qmp.sock,server=on,wait=off" -daemonize -pidfile "$work/qemu.pid"
pid=$(cat "$work/qemu.pid")
trap 'kill -9 $pid 2>/dev/null; rm -rf "$work"' EXIT
ready=1
for _ in $(seq 1 240); do grep -q PROCURATOR-READY "$work/serial.log" 2>/dev/null && { ready=0; break; }; sleep 0.25; done
check "ready line after $(echo "$(date +%s.%N) - $start" | bc | cut -c1-5) s" $ready
[ "$(curl -s -m 5 "http://127.0.0.1:$port/healthz")" = ok ]; check "GET /healthz through 127.0.0.1:$port" $?
python3 - "$work/qmp.sock" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile("rw"); f.readline()
for c in ("qmp_capabilities", "system_powerdown"):
    f.write(json.dumps({"execute": c}) + "\n"); f.flush(); f.readline()
PY
off=1
for _ in $(seq 1 80); do kill -0 "$pid" 2>/dev/null || { off=0; break; }; sleep 0.25; done
grep -q PROCURATOR-POWEROFF "$work/serial.log"; check "clean poweroff on system_powerdown" $((off + $?))
echo "guest: $passed passed, $failed failed"
[ "$failed" = 0 ]
