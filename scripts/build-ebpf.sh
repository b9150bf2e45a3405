#!/usr/bin/env bash
# Rebuilds Maxwell's eBPF erase probe from source and checks it against the committed build in
# native/ebpf/generated/ (the CO-RE object, stripped of DWARF, and its bpftool skeleton), which is
# what scripts/build-ebpf-loader.sh compiles the loader from on machines without clang. Then checks
# native/ebpf/abi/ against libbpf's real headers and builds the loader.
#
#   bash scripts/build-ebpf.sh            check: fails when the committed build is stale
#   bash scripts/build-ebpf.sh --update   write the rebuilt object and skeleton to native/ebpf/generated/
#
# Needs Debian's clang, llvm, libbpf-dev, bpftool and gcc (apt-get install -y clang llvm libbpf-dev
# bpftool gcc), and BTF at /sys/kernel/btf/vmlinux. The object is compared byte for byte only when
# it was committed from the same clang and the same kernel BTF (generated/BUILT-WITH); elsewhere
# only the sources' digest is compared, since CO-RE objects built against another kernel's
# vmlinux.h differ in their type information while loading the same everywhere.
# Running it as root also mounts tracefs when it is missing (the tracepoints need it).
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=native/ebpf
GEN=$SRC/generated
OUT=.maxwell/ebpf
update=0
[ "${1:-}" = --update ] && update=1
mkdir -p "$OUT"
for tool in clang llvm-strip bpftool gcc; do
  command -v "$tool" >/dev/null || { echo "build-ebpf: $tool is missing (apt-get install -y clang llvm libbpf-dev bpftool gcc)" >&2; exit 1; }
done
[ -r /sys/kernel/btf/vmlinux ] || { echo "build-ebpf: no kernel BTF at /sys/kernel/btf/vmlinux" >&2; exit 1; }
[ -r /usr/include/bpf/libbpf.h ] || { echo "build-ebpf: libbpf-dev is missing" >&2; exit 1; }
if [ "$(id -u)" = 0 ] && ! mountpoint -q /sys/kernel/tracing; then
  mount -t tracefs nodev /sys/kernel/tracing
fi

sources_digest=$(cat "$SRC/erase.bpf.c" "$SRC/erase.h" | sha256sum | cut -d' ' -f1)
built_with="clang $(clang --version | head -1 | sed 's/.*version //'); bpftool $(bpftool version | head -1 | awk '{print $2}'); vmlinux BTF $(sha256sum /sys/kernel/btf/vmlinux | cut -c1-16)"

bpftool btf dump file /sys/kernel/btf/vmlinux format c > "$OUT/vmlinux.h"
clang -g -O2 -Wall -target bpf -D__TARGET_ARCH_x86 -fdebug-prefix-map="$PWD"=. -I"$OUT" -I"$SRC" -c "$SRC/erase.bpf.c" -o "$OUT/erase.bpf.debug.o"
# DWARF is for the developer's disassembly; BTF and CO-RE relocations, which libbpf needs, stay.
llvm-strip -g "$OUT/erase.bpf.debug.o" -o "$OUT/erase.bpf.o"
bpftool gen skeleton "$OUT/erase.bpf.o" name erase_bpf > "$OUT/erase.skel.h"
gcc -Wall -Wextra -Werror -fsyntax-only "$SRC/check-abi.c"

if [ "$update" = 1 ]; then
  mkdir -p "$GEN"
  cp "$OUT/erase.bpf.o" "$OUT/erase.skel.h" "$GEN/"
  echo "$sources_digest  erase.bpf.c + erase.h" > "$GEN/SOURCES.sha256"
  echo "$built_with" > "$GEN/BUILT-WITH"
  echo "build-ebpf: wrote $GEN/ (commit it)"
else
  committed_digest=$(cut -d' ' -f1 "$GEN/SOURCES.sha256")
  if [ "$committed_digest" != "$sources_digest" ]; then
    echo "build-ebpf: $GEN/ was built from other sources than $SRC/erase.bpf.c and erase.h: run bash scripts/build-ebpf.sh --update and commit it" >&2
    exit 1
  fi
  if [ "$(cat "$GEN/BUILT-WITH")" = "$built_with" ]; then
    cmp -s "$OUT/erase.bpf.o" "$GEN/erase.bpf.o" && cmp -s "$OUT/erase.skel.h" "$GEN/erase.skel.h" || {
      echo "build-ebpf: the committed object differs from what its sources build to here ($built_with): run bash scripts/build-ebpf.sh --update" >&2
      exit 1
    }
    echo "build-ebpf: $GEN/ matches its sources byte for byte"
  else
    echo "build-ebpf: $GEN/ matches its sources' digest (built with: $(cat "$GEN/BUILT-WITH"); here: $built_with, so bytes are not compared)"
  fi
fi
rm -f "$OUT/erase-loader"
bash scripts/build-ebpf-loader.sh
[ -x "$OUT/erase-loader" ] || { echo "build-ebpf: the loader did not build" >&2; exit 1; }
