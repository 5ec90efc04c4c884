#!/usr/bin/env bash
# Makes a git repository of this example, ready to push: the example guest's kernel and initrd are
# built (once, by ../guest/build.sh) and copied into guest/, which the flake reads.
#
# usage: examples/gitops/prepare.sh DIR      (DIR becomes a git repository on branch main)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: prepare.sh DIR}
images=${PROCURATOR_IMAGES:-$HOME/.procurator/data/images/hello}   # pctl up's images folder
"$here/../guest/build.sh" "$images"
mkdir -p "$out/guest"
cp -r "$here/flake.nix" "$here/guest.nix" "$here/nix" "$here/clusters" "$out/"
cp "$images/vmlinux" "$images/initrd.cpio.gz" "$out/guest/"
cd "$out"
[ -d .git ] || git init -q -b main
git add -A
git -c user.name="${GIT_AUTHOR_NAME:-procurator}" -c user.email="${GIT_AUTHOR_EMAIL:-procurator@localhost}" commit -qm "the example cluster" || true
echo "$out is a git repository of the example cluster: push it, and point a GitRepository at it (examples/gitops/gitrepository.yaml)"
