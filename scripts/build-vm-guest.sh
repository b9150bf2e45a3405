#!/usr/bin/env bash
# Builds the small guest that VM agents boot under QEMU (TCG on the development machines):
# Debian's cloud kernel (apt-get download, nothing installed) and a busybox initramfs whose
# /init runs the agent named by `maxwell.mode=` on the kernel command line and talks to the
# host over the second serial port (/dev/ttyS1): READY, EXIT <code>; the host may send
# "stop", and TOKEN (below). Programs: busy, io, stubborn, exit3, and scientist, which speaks
# the agent protocol (docs/PROTOCOL.md) on the third serial port (/dev/ttyS2), which QEMU
# bridges to the daemon's socket for the agent (src/runtimes/vm/vm-runtime.ts):
#   guest: READY scientist protocol     (ttyS1; "protocol": connect my ttyS2 and send my token)
#   host:  TOKEN <agentId> <token>      (ttyS1; the token JSON-escaped to printable ASCII)
#   guest: hello, [bid], work, work...  (ttyS2, frames; notices are read: an apoptosis notice ends it)
# Needs: apt-get (or an existing vmlinuz), busybox-static, gzip.
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
# The guest says the protocol version this tree speaks (one source: frames.ts).
PROTOCOL_VERSION=$(sed -n 's/^export const PROTOCOL_VERSION = \([0-9][0-9]*\);.*/\1/p' src/protocol/frames.ts)
if [ -z "$PROTOCOL_VERSION" ]; then echo "cannot read PROTOCOL_VERSION from src/protocol/frames.ts" >&2; exit 1; fi
ROOT=$(mktemp -d)
mkdir -p "$ROOT"/{bin,dev,proc,sys,tmp}
cp "$(command -v busybox)" "$ROOT/bin/busybox"
cat > "$ROOT/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs dev /dev 2>/dev/null
arg() { sed -n "s/.*maxwell\.$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
mode=$(sed -n 's/.*maxwell\.mode=\([a-z0-9]*\).*/\1/p' /proc/cmdline)
ch=/dev/ttyS1
# Held open for the guest's life: opening an 8250 port that nobody holds clears its receive
# FIFO, which would drop what the host sent meanwhile (the token line, a stop).
exec 3<>$ch
stty -F $ch raw -echo 2>/dev/null
finish() { echo "EXIT $1" >&3; sync; poweroff -f; }
listen() { while read -r line <&3; do [ "$line" = stop ] && finish 0; done; }

# --- the agent protocol on ttyS2 (present only when the host gave the VM a protocol channel) ---
PROTOCOL_VERSION=@PROTOCOL_VERSION@
SPAN=50
pch=/dev/ttyS2
proto=''
# One frame: 4-byte big-endian length, then the JSON (ASCII here, so ${#1} counts bytes).
frame() {
  n=${#1}
  [ "$n" -lt 65536 ] || return 1
  a=$((n >> 8)); b=$((n & 255))
  printf "\\000\\000\\$((a >> 6))$(( (a >> 3) & 7 ))$((a & 7))\\$((b >> 6))$(( (b >> 3) & 7 ))$((b & 7))%s" "$1" >&4
}
# Primes in [$1, $2) by trial division, as a JSON list body in $list.
primes() {
  list=''; n=$1
  while [ "$n" -lt "$2" ]; do
    if [ "$n" -ge 2 ]; then
      d=2
      while [ $((d * d)) -le "$n" ] && [ $((n % d)) -ne 0 ]; do d=$((d + 1)); done
      [ $((d * d)) -gt "$n" ] && list="$list,\"$n\""
    fi
    n=$((n + 1))
  done
  list=${list#,}
}
scientist() {
  if [ -z "$proto" ]; then echo "scientist: no protocol channel (/dev/ttyS2)"; finish 2; fi
  # The token comes over the private control channel, never the command line; nothing is
  # sent on ttyS2 before it is here.
  read -r -t 120 word id token <&3 || finish 2
  [ "$word" = stop ] && finish 0
  if [ "$word" != TOKEN ] || [ -z "$token" ]; then echo "scientist: expected TOKEN, got '$word'"; finish 2; fi
  listen &
  frame "{\"type\":\"hello\",\"protocol\":$PROTOCOL_VERSION,\"agentId\":\"$id\",\"token\":\"$token\"}"
  token=''
  i=0
  while [ ! -e /tmp/welcome ] && [ ! -e /tmp/error ] && [ $i -lt 600 ]; do usleep 50000; i=$((i + 1)); done
  if [ ! -e /tmp/welcome ] || [ -e /tmp/error ]; then
    echo "scientist: not welcomed: $(cat /tmp/error 2>/dev/null)"
    while :; do sleep 3600; done
  fi
  seq=1
  bid=$(arg bid)
  if [ -n "$bid" ]; then
    if echo "$bid" | grep -qE '^(0|[1-9][0-9]{0,8})(\.[0-9]{1,9})?$'; then
      frame "{\"type\":\"bid\",\"seq\":$seq,\"pricePerQuantumJ\":$bid}"
      seq=$((seq + 1))
    else
      echo "scientist: ignoring maxwell.bid=$bid (expected a decimal number)"
    fi
  fi
  lo=$(arg start)
  echo "$lo" | grep -qE '^(0|[1-9][0-9]{0,11})$' || lo=2
  while [ ! -e /tmp/error ] && [ ! -e /tmp/apoptosis ]; do
    hi=$((lo + SPAN))
    primes "$lo" "$hi"
    frame "{\"type\":\"work\",\"seq\":$seq,\"kind\":\"primes\",\"range\":[\"$lo\",\"$hi\"],\"primes\":[$list]}"
    seq=$((seq + 1)); lo=$hi
    # At most 50 frames/s, well under the daemon's rate limit even on a fast CPU.
    usleep 20000
  done
  # It cannot pay: end within the grace period rather than wait to be stopped.
  if [ -e /tmp/apoptosis ]; then echo "scientist: apoptosis notice: ending"; finish 0; fi
  echo "scientist: connection closed: $(cat /tmp/error)"
  while :; do sleep 3600; done
}
if [ "$mode" = scientist ] && stty -F $pch raw -echo 2>/dev/null; then
  exec 4<>$pch
  proto=' protocol'
  # Read every notice (else the daemon closes us as a slow reader); note welcome, error and apoptosis.
  # Control bytes (length prefixes) and '}' become newlines, so a frame's "type" (the first
  # key the daemon writes) is on a line of its own, ended as soon as the frame is.
  tr '\000-\037}\177-\377' '\n' <&4 | while read -r f; do
    case "$f" in
      *'"type":"welcome"'*) : > /tmp/welcome ;;
      *'"type":"error"'*) echo "$f" > /tmp/error ;;
      *'"type":"apoptosis"'*) : > /tmp/apoptosis ;;
    esac
  done &
fi

echo "READY $mode$proto" >&3
case "$mode" in
  busy) listen & while :; do :; done ;;
  exit3) sleep 1; finish 3 ;;
  stubborn) while :; do :; done ;;
  io) listen & while :; do dd if=/dev/zero of=/tmp/f bs=64k count=64 2>/dev/null; sync; done ;;
  scientist) scientist ;;
  *) echo "unknown mode '$mode'" >&3; finish 2 ;;
esac
INIT
sed -i "s/@PROTOCOL_VERSION@/$PROTOCOL_VERSION/" "$ROOT/init"
chmod +x "$ROOT/init"
(cd "$ROOT" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -9) > "$OUT/initramfs.gz"
rm -rf "$ROOT"
echo "built $OUT/vmlinuz ($(stat -c %s "$OUT/vmlinuz") bytes) and $OUT/initramfs.gz ($(stat -c %s "$OUT/initramfs.gz") bytes)" >&2
