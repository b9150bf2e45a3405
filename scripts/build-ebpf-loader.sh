#!/usr/bin/env bash
# Builds erase-loader and erase-bench with nothing but gcc and libbpf's shared library, which a Debian
# system with iproute2 has (it depends on libbpf1; slim container images lack both): the BPF object and its skeleton are committed
# in native/ebpf/generated/ (scripts/build-ebpf.sh rebuilds them from source and checks them), and
# libbpf's ABI is declared in native/ebpf/abi/. `npm run build` runs this, so the README's first
# command gets the ring buffer without clang or libbpf-dev.
#
#   --if-stale   rebuild only when an input is newer than the output (what `npm run build` uses)
# Output: .maxwell/ebpf/{erase-loader,erase-bench} (gitignored). Never fails the build: where it
# cannot build, it says why and Maxwell falls back to bpftrace or the estimate, as it says at start.
set -uo pipefail
cd "$(dirname "$0")/.."
SRC=native/ebpf
OUT=.maxwell/ebpf
INPUTS=("$SRC/erase-loader.c" "$SRC/erase-bench.c" "$SRC/erase.h" "$SRC/generated/erase.skel.h" "$SRC/abi/bpf/libbpf.h" "$SRC/abi/bpf/bpf.h" scripts/build-ebpf-loader.sh)

skip() { echo "build-ebpf-loader: not built: $1 (Maxwell will use bpftrace or the estimate)" >&2; exit 0; }

[ "$(uname -s)" = Linux ] || skip "eBPF needs Linux"
if [ "${1:-}" = --if-stale ] && [ -x "$OUT/erase-loader" ] && [ -x "$OUT/erase-bench" ]; then
  stale=0
  for input in "${INPUTS[@]}"; do
    [ "$input" -nt "$OUT/erase-loader" ] && stale=1
  done
  [ "$stale" = 0 ] && exit 0
fi
command -v gcc >/dev/null || skip "gcc is missing"
# ldconfig is in /sbin, off a normal user's PATH on Debian.
libbpf=$({ ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null; } | awk '/libbpf\.so\.1 /{print $NF; exit}')
[ -n "$libbpf" ] || skip "libbpf.so.1 is missing (apt-get install -y libbpf1)"
[ -r /usr/include/linux/bpf.h ] || skip "the kernel's user-space headers are missing (apt-get install -y linux-libc-dev)"
mkdir -p "$OUT"
# Build beside, then rename: a daemon that is running keeps the loader it started.
gcc -O2 -Wall -Wextra -I"$SRC/abi" -I"$SRC/generated" -I"$SRC" "$SRC/erase-loader.c" -o "$OUT/erase-loader.new" -l:libbpf.so.1 ||
  skip "gcc failed on erase-loader.c"
gcc -O2 -Wall -Wextra "$SRC/erase-bench.c" -o "$OUT/erase-bench.new" || skip "gcc failed on erase-bench.c"
mv -f "$OUT/erase-loader.new" "$OUT/erase-loader"
mv -f "$OUT/erase-bench.new" "$OUT/erase-bench"
echo "build-ebpf-loader: built $OUT/erase-loader against $libbpf"
