# Shared by bin/pctl and bin/test: find or install what Procurator needs on a Debian host.
# Safe to source repeatedly; every step is a no-op when its tool is already there.

PROCURATOR_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

say() { printf '%s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    say "need root for: $*"; return 1; fi
}

apt_updated=
apt_install() {
  [ -n "$apt_updated" ] || { as_root apt-get update -qq >&2 || true; apt_updated=1; }
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@" >&2
}

java_feature() {
  "$1/bin/java" -XshowSettings:properties -version 2>&1 |
    awk -F'= ' '/java.specification.version/ {print $2}' | cut -d. -f1
}

find_jdk() {
  local c
  for c in "${JAVA_HOME:-}" /usr/lib/jvm/*; do
    [ -n "$c" ] && [ -x "$c/bin/java" ] && [ -x "$c/bin/javac" ] || continue
    [ "$(java_feature "$c")" -ge 21 ] 2>/dev/null && { echo "$c"; return 0; }
  done
  return 1
}

# Exports JAVA_HOME as a JDK >= 21, installing one from Debian when none is found.
ensure_java() {
  local jdk
  if ! jdk=$(find_jdk); then
    say "no JDK >= 21 found; installing one"
    local pkg
    for pkg in openjdk-25-jdk-headless openjdk-21-jdk-headless; do
      if apt-cache show "$pkg" >/dev/null 2>&1 || { [ -z "$apt_updated" ] && as_root apt-get update -qq >&2; apt_updated=1; apt-cache show "$pkg" >/dev/null 2>&1; }; then
        apt_install "$pkg" && break
      fi
    done
    jdk=$(find_jdk) || { say "error: a JDK 21 or newer is needed; install one under /usr/lib/jvm or set JAVA_HOME"; exit 1; }
  fi
  export JAVA_HOME="$jdk"
  export PATH="$JAVA_HOME/bin:$PATH"
}

ensure_maven() {
  command -v mvn >/dev/null || apt_install maven
  # Maven's own guava warns about sun.misc.Unsafe on new JDKs; that is noise, not our build
  if [ "$(java_feature "$JAVA_HOME")" -ge 24 ] 2>/dev/null; then
    export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"
  fi
}

# Builds the jars when missing or older than any source file (PROCURATOR_PREBUILT=1: use the jar as it is).
ensure_built() {
  local jar="$PROCURATOR_ROOT/pctl/target/pctl.jar"
  [ -n "${PROCURATOR_PREBUILT:-}" ] && [ -f "$jar" ] && return 0
  if [ ! -f "$jar" ] || [ -n "$(find "$PROCURATOR_ROOT" -name target -prune -o \( -name '*.java' -o -name pom.xml -o -path '*/src/main/resources/*' -o -path '*/observability/*' \) -newer "$jar" -print -quit)" ]; then
    ensure_maven
    say "building Procurator (first use or sources changed)..."
    (cd "$PROCURATOR_ROOT" && mvn -B -q -DskipTests -DskipITs install) >&2
  fi
}

# nix's build users: builds run sandboxed as members of group nixbld (nixbld1..nixbldN, no login, no home),
# as Debian's nix-setup makes them. Creates what is missing; PROCURATOR_BUILD_USERS sets N (default 10).
ensure_build_users() {
  local n=${PROCURATOR_BUILD_USERS:-10} i
  getent group nixbld >/dev/null || as_root groupadd --system nixbld
  for i in $(seq 1 "$n"); do
    id -u "nixbld$i" >/dev/null 2>&1 ||
      as_root useradd --system --no-create-home --home-dir /var/empty --shell /usr/sbin/nologin \
        --gid nixbld --groups nixbld --comment "Nix build user $i" "nixbld$i"
  done
}

# What a node agent needs to boot VMs and to build the example guest.
ensure_vm_tools() {
  command -v qemu-system-x86_64 >/dev/null || apt_install qemu-system-x86
  command -v cpio >/dev/null || apt_install cpio
  command -v mkfs.erofs >/dev/null || apt_install erofs-utils   # a closure's store image for its guests
  command -v xz >/dev/null || apt_install xz-utils
  command -v ip >/dev/null || apt_install iproute2
  command -v nix >/dev/null || apt_install nix-bin   # pulls closures from the cache; builds the example guest
  case "$(ldd /bin/busybox 2>&1 || true)" in *"not a dynamic"*) ;; *) apt_install busybox-static ;; esac
}

# What pctl up's metrics need: Prometheus (and promtool, which checks the alert rules) and
# Alertmanager (for --alertmanager). Without them pctl up warns and runs without.
ensure_monitoring_tools() {
  command -v prometheus >/dev/null && command -v promtool >/dev/null || apt_install prometheus
  command -v prometheus-alertmanager >/dev/null || apt_install prometheus-alertmanager
}
