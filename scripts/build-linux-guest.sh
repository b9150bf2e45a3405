#!/usr/bin/env bash
# Builds the Debian guest (docs/RUNTIMES.md): systemd as PID 1 on a pure cgroup v2 hierarchy, booted
# under QEMU (TCG here) by scripts/guest-run.mjs, which runs one command in it as root.
#
# Two parts:
#  - the system (cached, keyed by its inputs): a bookworm root filesystem from mmdebstrap with
#    systemd, udev and dbus, this machine's `node` copied in, and a oneshot-style unit
#    (maxwell-guest-run.service) that runs the command guest-run.mjs hands in; as an ext4
#    image, beside Debian's cloud kernel. Rebuilt only when its directory is missing.
#  - the project (never cached: it is the code under test): dist/, package.json, node_modules,
#    models/, deploy/, web/ of this working tree, as a second ext4 image, made fresh each call.
#    Run `npm run build` first: this script packs dist/ as it is.
#
# Both live outside the clone (default /var/cache/maxwell/linux-guest, MXW_GUEST_CACHE to
# change it): the root image alone is ~1 GB and must not end up in git or in the device
# carry, and several clones can share one system image.
#   <cache>/<key>/{rootfs.ext4,vmlinuz,manifest.txt}     the system
#   <cache>/clones/<sha256 of the clone's path, 16 hex>/{project.ext4,guest.json}
# guest.json tells guest-run.mjs which system and project images to boot.
#
# Needs root (mmdebstrap --mode=root, mkfs.ext4 -d of root-owned files), mmdebstrap, e2fsprogs,
# and apt access to Debian's mirror (the first build downloads ~48 MB).
#
#   build-linux-guest.sh            both parts
#   build-linux-guest.sh --system   the system only (scripts/setup.sh: no dist/ needed yet)
#   build-linux-guest.sh --project  the project only (the guest tests, before they boot: the code
#                                   under test is the dist/ of this moment); fails without the system
set -euo pipefail
MODE=${1:-all}
case "$MODE" in all|--system|--project) ;; *) echo "usage: build-linux-guest.sh [--system|--project]" >&2; exit 2;; esac
SELF=$(readlink -f "$0")
cd "$(dirname "$SELF")/.."
REPO=$(pwd -P)
SUITE=${MXW_GUEST_SUITE:-bookworm}
CACHE=${MXW_GUEST_CACHE:-/var/cache/maxwell/linux-guest}
NODE_BIN=$(command -v node)

if [ "$(id -u)" != 0 ]; then echo "build-linux-guest: needs root (mmdebstrap --mode=root, mkfs.ext4 -d)" >&2; exit 1; fi
TOOLS="mkfs.ext4 sha256sum"
[ "$MODE" = --project ] || TOOLS="mmdebstrap $TOOLS"
for tool in $TOOLS; do
  command -v "$tool" >/dev/null || { echo "build-linux-guest: needs $tool (apt-get install mmdebstrap e2fsprogs)" >&2; exit 1; }
done
if [ "$MODE" != --system ] && { [ ! -d dist/src ] || [ ! -d dist/test ]; }; then echo "build-linux-guest: no dist/ here: run npm run build first" >&2; exit 1; fi

now() { date +%s.%N; }
took() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }

# The key: everything the system image is made from. The system part of this script (between the
# "system:" markers: the unit, the runner, the package list), the suite, the Node version copied in,
# and package-lock.json (its native modules, better-sqlite3, are built against this Node and this glibc).
KEY=$( { sed -n '/^# >>> system:/,/^# <<< system:/p' "$SELF" | sha256sum | cut -d' ' -f1; echo "$SUITE"; "$NODE_BIN" --version; sha256sum package-lock.json | cut -d' ' -f1; } \
  | sha256sum | cut -c1-16)
SYS="$CACHE/$KEY"
T_ALL=$(now)

# >>> system: what the cached system image is made of (its hash is part of the key)
if [ -s "$SYS/rootfs.ext4" ] && [ -s "$SYS/vmlinuz" ]; then
  echo "system: cached $SYS" >&2
elif [ "$MODE" = --project ]; then
  echo "build-linux-guest: no system image $SYS (this script or its inputs changed): run sudo npm run setup" >&2
  exit 1
else
  # Built in a temporary sibling and renamed at the end, so a half-built system (interrupted,
  # failed) is never taken for a cached one.
  mkdir -p "$CACHE"
  WORK=$(mktemp -d "$CACHE/.build-$KEY.XXXXXX")
  trap 'rm -rf "$WORK"' EXIT
  ROOT="$WORK/root"

  # Debian's cloud kernel: NVMe, ext4 and virtio are built in, so it boots a raw ext4 root
  # without an initramfs. Reuse the one build-vm-guest.sh fetched, else fetch it the same way.
  t=$(now)
  if [ -s .maxwell/vm/vmlinuz ]; then
    cp .maxwell/vm/vmlinuz "$WORK/vmlinuz"
  else
    PKG=$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image/{print $2; exit}')
    (cd "$WORK" && apt-get download -qq "$PKG" && dpkg-deb -x ./*.deb kimg && cp kimg/boot/vmlinuz-* vmlinuz && rm -rf kimg ./*.deb)
  fi
  echo "kernel: $(took "$t")" >&2

  # The root filesystem. variant=apt: Essential + apt (bash, coreutils, tar, util-linux,
  # libstdc++6 that node needs); systemd-sysv makes systemd PID 1; udev for /dev/disk and
  # device units; dbus because systemctl freeze/thaw and most of systemctl's verbs need the bus;
  # procps for ps and pgrep when looking at what is left in the cgroup tree.
  t=$(now)
  mmdebstrap --quiet --mode=root --variant=apt --include=systemd-sysv,udev,dbus,procps "$SUITE" "$ROOT"
  echo "mmdebstrap $SUITE: $(took "$t") ($(du -sm "$ROOT" | cut -f1) MB)" >&2

  t=$(now)
  # Node: this machine's binary (Node 20, what Maxwell runs on); the guest has the same
  # glibc/libstdc++ (bookworm both), so it runs as is.
  install -m 0755 "$NODE_BIN" "$ROOT/usr/local/bin/node"
  # deploy/systemd/maxwell.service runs /usr/bin/node (where Debian's and NodeSource's packages put it).
  ln -sf /usr/local/bin/node "$ROOT/usr/bin/node"
  echo maxwell-guest > "$ROOT/etc/hostname"
  # A fixed machine-id: an empty or missing one makes systemd treat every boot as the first
  # and run systemd-firstboot, which would prompt on the console and hang the boot.
  echo 6d61787765 | md5sum | cut -c1-32 > "$ROOT/etc/machine-id"
  ln -sf /dev/null "$ROOT/etc/systemd/system/systemd-firstboot.service"
  # No login prompt on the serial console: it only interleaves with the runner's markers.
  ln -sf /dev/null "$ROOT/etc/systemd/system/serial-getty@ttyS0.service"
  # Root is mounted rw from the kernel command line (no initramfs, no fstab needed); the
  # project drive is mounted by the runner, which finds it by its NVMe serial.
  : > "$ROOT/etc/fstab"

  # The runner: waits until systemd has finished starting up (multi-user reached, job queue
  # empty), then runs /run/maxwell-guest/command.sh from the I/O drive as root with
  # /opt/maxwell (the project drive) as cwd, writes stdout, stderr and the exit code back to
  # the I/O drive as a tar, and powers off. Markers on the serial console (ttyS0) let the host
  # time the boot and see progress: "MAXWELL-GUEST BOOTED <state> <uptime>", "... DONE <code>".
  cat > "$ROOT/usr/local/sbin/maxwell-guest-run" <<'RUNNER'
#!/bin/bash
set -u
say() { echo "MAXWELL-GUEST $*" > /dev/ttyS0; }
# The drive whose NVMe controller has this serial (set by -device nvme,serial=...): device
# names follow probe order, which is asynchronous for NVMe, so serials are the stable handle.
drive() {
  local b
  for b in /sys/block/nvme*; do
    [ "$(cat "$b/device/serial" 2>/dev/null | tr -d ' ')" = "$1" ] && { echo "/dev/${b##*/}"; return 0; }
  done
  return 1
}
# Type=simple (not oneshot): the unit's start job ends at once, so systemd's job queue can
# drain and `is-system-running --wait` returns "running" (or "degraded") here and in the command.
state=$(systemctl is-system-running --wait 2>&1)
say "BOOTED $state $(cut -d' ' -f1 /proc/uptime)"
out=/run/maxwell-guest
mkdir -p "$out" /opt/maxwell
io=$(drive mxio) || { say "ERROR no I/O drive (serial mxio)"; systemctl poweroff --no-block; exit 1; }
tar -xf "$io" -C "$out" command.sh || { say "ERROR cannot read command.sh from $io"; systemctl poweroff --no-block; exit 1; }
if proj=$(drive mxproject); then
  mount "$proj" /opt/maxwell || say "ERROR cannot mount the project drive $proj"
fi
# Reboots: a command that wants one touches $GUEST_REBOOT_FLAG and exits; its output is kept on
# the root filesystem (a snapshot overlay that lives as long as QEMU, so it survives the reboot) and
# the same command runs again after the boot, with GUEST_BOOT one higher. Only guest-run.mjs
# --reboots lets QEMU reboot at all (else -no-reboot turns a reboot into QEMU's exit).
keep=/var/lib/maxwell-guest
mkdir -p "$keep"
boot=$(( $(cat "$keep/boot" 2>/dev/null || echo 0) + 1 ))
echo "$boot" > "$keep/boot"
say "START $boot $(cut -d' ' -f1 /proc/uptime)"
start=$(cat "$keep/start" 2>/dev/null || date +%s.%N | tee "$keep/start")
(cd /opt/maxwell && GUEST_BOOT=$boot GUEST_REBOOT_FLAG=$keep/reboot exec /bin/bash "$out/command.sh") >> "$keep/stdout" 2>> "$keep/stderr" < /dev/null
code=$?
if [ -e "$keep/reboot" ]; then
  rm -f "$keep/reboot"
  say "REBOOT $boot $code"
  systemctl reboot --no-block
  exit 0
fi
end=$(date +%s.%N)
cp "$keep/stdout" "$keep/stderr" "$out/"
echo "$code" > "$out/exit"
echo "$start $end" > "$out/times"
systemd-analyze > "$out/systemd-analyze" 2>&1 || true
# conv=fsync: the results are on the drive (QEMU has written them to the host file) before
# DONE is said, so the host may kill QEMU at DONE rather than wait ~6 s for the power-off.
tar -cf - -C "$out" exit times stdout stderr systemd-analyze | dd of="$io" bs=1M conv=fsync status=none \
  || say "ERROR cannot write the results to $io"
say "DONE $code $(cut -d' ' -f1 /proc/uptime)"
systemctl poweroff --no-block
RUNNER
  chmod 0755 "$ROOT/usr/local/sbin/maxwell-guest-run"
  cat > "$ROOT/etc/systemd/system/maxwell-guest-run.service" <<'UNIT'
[Unit]
Description=Run the command handed in by scripts/guest-run.mjs, then power off
After=multi-user.target
[Service]
Type=simple
ExecStart=/usr/local/sbin/maxwell-guest-run
StandardOutput=journal+console
StandardError=journal+console
[Install]
WantedBy=multi-user.target
UNIT
  ln -sf /etc/systemd/system/maxwell-guest-run.service "$ROOT/etc/systemd/system/multi-user.target.wants/maxwell-guest-run.service"
  rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/*_Packages
  echo "configure + node: $(took "$t")" >&2

  # Sparse 2 GiB: ~330 MB used, the rest is room for what the tests write (guest-run boots it
  # with snapshot=on, so the cached image itself never changes).
  t=$(now)
  mkfs.ext4 -q -F -L maxwell-root -d "$ROOT" "$WORK/rootfs.ext4" 2G
  echo "rootfs.ext4: $(took "$t")" >&2
  rm -rf "$ROOT"
  {
    echo "suite=$SUITE"
    echo "node=$("$NODE_BIN" --version)"
    echo "kernel=$(file -b "$WORK/vmlinuz" 2>/dev/null | grep -o 'version [^ ]*' || echo unknown)"
    echo "built=$(date -u +%FT%TZ)"
  } > "$WORK/manifest.txt"
  # mktemp made it 0700: readable by all, so guest-run.mjs works for a non-root user too.
  chmod 0755 "$WORK"
  rm -rf "$SYS"
  mv "$WORK" "$SYS"
  trap - EXIT
fi
# <<< system:

if [ "$MODE" = --system ]; then
  echo "system: $SYS; total $(took "$T_ALL")" >&2
  exit 0
fi

# The project image: fresh every call. Staged with hard links (cp -al; same filesystem as the
# clone, so no copy of node_modules' 500 MB), dereferencing a symlinked node_modules, since
# mkfs.ext4 -d would keep the link and the guest has no /work.
t=$(now)
CLONE_ID=$(printf %s "$REPO" | sha256sum | cut -c1-16)
CDIR="$CACHE/clones/$CLONE_ID"
mkdir -p "$CDIR"
STAGE=$(mktemp -d "$CDIR/.stage.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
# test/guest: the scripts the guest tests run inside (test/integration/linux-guest*.test.ts).
for p in dist package.json package-lock.json node_modules models deploy web test/guest; do
  [ -e "$p" ] || continue
  src=$(readlink -f "$p")
  mkdir -p "$STAGE/$(dirname "$p")"
  cp -al "$src" "$STAGE/$p" 2>/dev/null || cp -a "$src" "$STAGE/$p"
done
MB=$(du -sm "$STAGE" | cut -f1)
rm -f "$CDIR/project.ext4"
mkfs.ext4 -q -F -L maxwell-project -d "$STAGE" "$CDIR/project.ext4" "$((MB * 3 / 2 + 256))M"
rm -rf "$STAGE"
trap - EXIT
echo "project.ext4: $(took "$t") (${MB} MB staged from $REPO)" >&2
cat > "$CDIR/guest.json" <<JSON
{
  "kernel": "$SYS/vmlinuz",
  "rootfs": "$SYS/rootfs.ext4",
  "project": "$CDIR/project.ext4",
  "key": "$KEY",
  "repo": "$REPO",
  "built": "$(date -u +%FT%TZ)"
}
JSON
echo "guest: $CDIR/guest.json (system $SYS); total $(took "$T_ALL")" >&2
echo "$CDIR/guest.json"
