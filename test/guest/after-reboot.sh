#!/bin/bash
# Boot 2 of test/guest/service.sh: Maxwell was enabled and running with agents (one frozen) when the
# guest rebooted. It is back by itself (the unit is enabled), and nothing of boot 1 is left in the
# cgroup tree or the process table; the ledger still verifies.
set -u
CHECK_PREFIX=after-reboot-
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

wait_for 'daemon_pid >/dev/null' 120 && check daemon yes || { check daemon no; journalctl -b 0 -u maxwell --no-pager | tail -30; }
check active "$(systemctl is-active maxwell)"
check agent-groups "$(find "$(unit_cg)"/maxwell -mindepth 2 -maxdepth 2 -type d | wc -l)"
check agent-processes "$(pgrep -fc 'dist/src/agents/(scientist|leech)\.js' || true)"
check frozen-anywhere "$(grep -l '^frozen 1' $(find /sys/fs/cgroup -name cgroup.events) 2>/dev/null | wc -l)"
check outside-unit "$(ls -d /sys/fs/cgroup/maxwell 2>/dev/null || echo none)"
systemctl stop maxwell
check ledger-verify "$($M ledger verify --db /var/lib/maxwell/ledger.sqlite >/dev/null 2>&1; echo $?)"
echo "--- the journal of the boot before, its end:"
journalctl -b -1 -u maxwell --no-pager -o cat | grep -v '^\[tick' | tail -6
