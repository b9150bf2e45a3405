#!/usr/bin/env bash
# Builds Maxwell's eBPF erase probe: the CO-RE program, its bpftool skeleton, the
# libbpf loader and the erase-bench workload. Needs Debian's clang, libbpf-dev, bpftool and gcc
# (apt-get install -y clang libbpf-dev bpftool), and BTF at /sys/kernel/btf/vmlinux.
# Output: .maxwell/ebpf/{erase-loader,erase-bench,erase.bpf.o} (gitignored).
# Running it as root also mounts tracefs when it is missing (the tracepoints need it).
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=native/ebpf
OUT=.maxwell/ebpf
mkdir -p "$OUT"
for tool in clang bpftool gcc; do
  command -v "$tool" >/dev/null || { echo "build-ebpf: $tool is missing (apt-get install -y clang libbpf-dev bpftool gcc)" >&2; exit 1; }
done
[ -r /sys/kernel/btf/vmlinux ] || { echo "build-ebpf: no kernel BTF at /sys/kernel/btf/vmlinux" >&2; exit 1; }
[ -r /usr/include/bpf/libbpf.h ] || { echo "build-ebpf: libbpf-dev is missing" >&2; exit 1; }
if [ "$(id -u)" = 0 ] && ! mountpoint -q /sys/kernel/tracing; then
  mount -t tracefs nodev /sys/kernel/tracing
fi
bpftool btf dump file /sys/kernel/btf/vmlinux format c > "$OUT/vmlinux.h"
clang -g -O2 -Wall -target bpf -D__TARGET_ARCH_x86 -I"$OUT" -I"$SRC" -c "$SRC/erase.bpf.c" -o "$OUT/erase.bpf.o"
bpftool gen skeleton "$OUT/erase.bpf.o" name erase_bpf > "$OUT/erase.skel.h"
gcc -O2 -Wall -Wextra -I"$OUT" -I"$SRC" "$SRC/erase-loader.c" -o "$OUT/erase-loader" -lbpf -lelf -lz
gcc -O2 -Wall -Wextra "$SRC/erase-bench.c" -o "$OUT/erase-bench"
echo "build-ebpf: built $OUT/erase-loader and $OUT/erase-bench"
