#!/usr/bin/env bash
# Builds kube-apiserver and kube-scheduler from Debian's source package `kubernetes` (bookworm:
# 1.20, fully vendored, so it builds offline with Debian's Go 1.19), for the test that runs
# Maxwell's scheduler extender under a real kube-scheduler (docs/FLEET.md). Nothing of
# Kubernetes' source or binaries goes into the clone:
#   /var/cache/maxwell/kubernetes/<version>/{kube-apiserver,kube-scheduler,VERSION}   (MXW_KUBE_CACHE)
# Rebuilt only when missing (≈ 5 min on 2 cores, 1.3 GB of build cache, removed afterwards).
#
# The source is fetched with a private apt configuration (a deb-src line for the mirror the system
# already uses, lists in a scratch folder): the machine's own apt sources are not touched.
# Needs root, apt-get, dpkg-source (dpkg-dev), golang-1.19-go, make, rsync (the tree's hack/ scripts use it).
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
CACHE=${MXW_KUBE_CACHE:-/var/cache/maxwell/kubernetes}
GO=/usr/lib/go-1.19/bin

if [ "$(id -u)" != 0 ]; then echo "build-kubernetes: needs root (apt-get)" >&2; exit 1; fi
for tool in apt-get dpkg-source make rsync "$GO/go"; do
  command -v "$tool" >/dev/null || { echo "build-kubernetes: needs $tool (apt-get install dpkg-dev make rsync golang-1.19-go)" >&2; exit 1; }
done
now() { date +%s.%N; }
took() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.0f s", b - a }'; }

mkdir -p "$CACHE"
WORK=$(mktemp -d "$CACHE/.build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# The mirror the system already uses (deb822 or one-line sources), as a deb-src line of our own.
MIRROR=$(grep -hoE '^URIs: *http[^ ]*/debian/?$|^deb +http[^ ]*/debian/? ' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
  | head -1 | sed -E 's/^(URIs: *|deb +)//; s/ +$//' || true)
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SUITE=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
echo "deb-src $MIRROR $SUITE main" > "$WORK/sources.list"
APT=(apt-get -q -o "Dir::Etc::SourceList=$WORK/sources.list" -o "Dir::Etc::SourceParts=$WORK/none"
  -o "Dir::State::Lists=$WORK/lists" -o "Dir::Cache=$WORK/cache" -o "APT::Sandbox::User=root")
mkdir -p "$WORK/none" "$WORK/lists/partial" "$WORK/cache/archives/partial"
t=$(now)
"${APT[@]}" update >/dev/null
VERSION=$("${APT[@]}" source --print-uris kubernetes 2>/dev/null | grep -oE "kubernetes_[^']+\.dsc" | head -1 | sed -E 's/^kubernetes_//; s/\.dsc$//; s/%2[bB]/+/g')
if [ -z "$VERSION" ]; then echo "build-kubernetes: no source package kubernetes in $MIRROR $SUITE" >&2; exit 1; fi
OUT="$CACHE/$VERSION"
if [ -x "$OUT/kube-apiserver" ] && [ -x "$OUT/kube-scheduler" ]; then
  echo "kubernetes $VERSION: cached $OUT" >&2
  echo "$OUT"
  exit 0
fi

LOG="$WORK/build.log"
# A failed step prints the tail of its log (the build folder is removed on exit).
step() { "$@" >> "$LOG" 2>&1 || { echo "build-kubernetes: failed: $*" >&2; tail -40 "$LOG" >&2; exit 1; }; }
(cd "$WORK" && step "${APT[@]}" source --download-only kubernetes && step dpkg-source --no-check -x ./kubernetes_*.dsc src)
echo "kubernetes $VERSION source: $(took "$t")" >&2

# As debian/rules builds it: static binaries, the vendored modules, the tree's own make targets;
# the apiserver needs the generated files (deepcopy, openapi) first.
t=$(now)
export PATH="$GO:$PATH" CGO_ENABLED=0 GOFLAGS=-mod=vendor GOCACHE="$WORK/gocache" GOPATH="$WORK/gopath" GOPROXY=off
(cd "$WORK/src" && step make generated_files && step make WHAT=cmd/kube-scheduler && step make WHAT=cmd/kube-apiserver)
echo "kube-scheduler, kube-apiserver: $(took "$t")" >&2

STAGE=$(mktemp -d "$CACHE/.out.XXXXXX")
for b in kube-apiserver kube-scheduler; do install -m 0755 "$(find "$WORK/src/_output" -type f -name "$b" | head -1)" "$STAGE/$b"; done
"$STAGE/kube-scheduler" --version > "$STAGE/VERSION"
chmod 0755 "$STAGE"
rm -rf "$OUT"
mv "$STAGE" "$OUT"
echo "kubernetes $VERSION: $OUT ($(cat "$OUT/VERSION"))" >&2
echo "$OUT"
