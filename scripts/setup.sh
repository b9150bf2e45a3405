#!/usr/bin/env bash
# Installs and builds what the whole test suite needs, so that nothing skips: Debian packages
# (QEMU and busybox for the VM runtime, chromium for the report page and the dashboard's browser
# test, prometheus for the metrics scrape test, serf to compare failure detection with, clang/libbpf/bpftool for
# the eBPF probe, bpftrace as its fallback, stress-ng as an external workload and the
# benchmark's neighbour, mmdebstrap for the systemd guest), the VM guest, the systemd guest's
# system image (scripts/build-linux-guest.sh --system: Debian with systemd on pure cgroup v2,
# cached under /var/cache/maxwell; the guest tests pack the project into it), the eBPF probe, and
# kube-apiserver and kube-scheduler from Debian's source package for the extender's real-scheduler
# test (scripts/build-kubernetes.sh: about 5 minutes the first time, cached under
# /var/cache/maxwell/kubernetes; MXW_SETUP_KUBE=skip leaves it out, as .ci/run does to build it
# beside `npm ci`). Needs root and apt-get; prints why and exits 1 otherwise. Run as
# `npm run setup` or `bash scripts/setup.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then echo "setup: needs root (apt-get install, tracefs, eBPF): run sudo npm run setup" >&2; exit 1; fi
if ! command -v apt-get >/dev/null; then echo "setup: needs apt-get (Debian/Ubuntu); install the packages named in this script by hand" >&2; exit 1; fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends qemu-system-x86 busybox-static chromium prometheus serf \
  clang llvm libbpf-dev bpftool bpftrace stress-ng gcc libc6-dev iproute2 nftables util-linux mmdebstrap e2fsprogs \
  etcd-server golang-1.19-go dpkg-dev make rsync >/dev/null
bash scripts/build-vm-guest.sh
bash scripts/build-linux-guest.sh --system
# build-ebpf.sh mounts tracefs when it is missing.
bash scripts/build-ebpf.sh
if [ "${MXW_SETUP_KUBE:-build}" != skip ]; then bash scripts/build-kubernetes.sh >/dev/null; fi
