#!/usr/bin/env bash
# Builds the small guest that VM agents boot under QEMU (TCG on the development machines):
# Debian's cloud kernel (apt-get download, nothing installed) and a busybox initramfs whose
# /init runs the agent named by `maxwell.mode=` on the kernel command line and talks to the
# host over the second serial port (/dev/ttyS1): READY, EXIT <code>; the host may send
# "stop". Needs: apt-get (or an existing vmlinuz), busybox-static, gzip.
# Output: .maxwell/vm/{vmlinuz,initramfs.gz}
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=.maxwell/vm
mkdir -p "$OUT"
if [ ! -s "$OUT/vmlinuz" ]; then
  PKG=$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image/{print $2; exit}')
  TMP=$(mktemp -d)
  (cd "$TMP" && apt-get download -qq "$PKG" && dpkg-deb -x ./*.deb root)
  cp "$TMP"/root/boot/vmlinuz-* "$OUT/vmlinuz"
  rm -rf "$TMP"
fi
ROOT=$(mktemp -d)
mkdir -p "$ROOT"/{bin,dev,proc,sys,tmp}
cp "$(command -v busybox)" "$ROOT/bin/busybox"
cat > "$ROOT/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs dev /dev 2>/dev/null
mode=$(sed -n 's/.*maxwell\.mode=\([a-z0-9]*\).*/\1/p' /proc/cmdline)
ch=/dev/ttyS1
stty -F $ch raw -echo 2>/dev/null
finish() { echo "EXIT $1" > $ch; sync; poweroff -f; }
listen() { while read -r line < $ch; do [ "$line" = stop ] && finish 0; done; }
echo "READY $mode" > $ch
case "$mode" in
  busy) listen & while :; do :; done ;;
  exit3) sleep 1; finish 3 ;;
  stubborn) while :; do :; done ;;
  io) listen & while :; do dd if=/dev/zero of=/tmp/f bs=64k count=64 2>/dev/null; sync; done ;;
  *) echo "unknown mode '$mode'" > $ch; finish 2 ;;
esac
INIT
chmod +x "$ROOT/init"
(cd "$ROOT" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -9) > "$OUT/initramfs.gz"
rm -rf "$ROOT"
echo "built $OUT/vmlinuz ($(stat -c %s "$OUT/vmlinuz") bytes) and $OUT/initramfs.gz ($(stat -c %s "$OUT/initramfs.gz") bytes)" >&2
