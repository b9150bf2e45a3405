#!/bin/bash
# Runs inside the systemd guest (scripts/guest-run.mjs --reboots), as root, from /opt/maxwell (the
# project drive). Installs Maxwell as deploy/systemd/maxwell.service says, drives it with the CLI, and
# prints what it finds as `CHECK <name> <value>` lines that test/integration/linux-guest-service.test.ts
# asserts on (the host judges; this script only looks). Other output is context for a failure.
# Boot 1: start, agents, knobs, a crash, a graceful stop, then enabled and rebooted with agents
# running. Boot 2 (the same script again, GUEST_BOOT=2): what is left after the reboot.
set -u
if [ "${GUEST_BOOT:-1}" = 2 ]; then exec bash "$(dirname "$0")/after-reboot.sh"; fi
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# Every agent group of the unit: "<dir> freeze=<0|1> frozen=<0|1> cpu.max=<q p> cpus=<list> mem=<max> procs=<pids>".
groups() {
  local d
  for d in "$(unit_cg)"/maxwell/*/*/; do
    [ -d "$d" ] || continue
    echo "$d freeze=$(cat "$d/cgroup.freeze") frozen=$(grep -o 'frozen [01]' "$d/cgroup.events" | cut -d' ' -f2) cpu.max=$(tr ' ' _ < "$d/cpu.max") cpus=$(cat "$d/cpuset.cpus") mem=$(cat "$d/memory.max") procs=$(tr '\n' , < "$d/cgroup.procs")"
  done
}

check kernel "$(uname -r)"
check systemd "$(systemctl --version | head -1 | cut -d' ' -f2)"
check controllers "$(cat /sys/fs/cgroup/cgroup.controllers)"
check node "$(node --version)"
check system-state "$(systemctl is-system-running)"
check init "$(readlink /proc/1/exe)"
check v1-hierarchies "$(grep -c ' cgroup ' /proc/mounts)"
ROOT_SUBTREE_BEFORE=$(cat /sys/fs/cgroup/cgroup.subtree_control)

install -m 0644 deploy/systemd/maxwell.service /etc/systemd/system/
systemctl daemon-reload
systemctl start maxwell
check started "$?"
wait_for 'daemon_pid >/dev/null' 120 && check daemon-json yes || { check daemon-json no; journalctl -u maxwell --no-pager | tail -40; exit 1; }
MAIN=$(systemctl show -p MainPID --value maxwell)
check daemon-cgroup "$(cut -d: -f3 "/proc/$MAIN/cgroup")"
check unit-subtree "$(cat "$(unit_cg)/cgroup.subtree_control")"

# Agents from the CLI: two scientists that outbid everything, one with a memory cap, and a leech whose
# bid is below any reserve price, so it is paused (frozen) from its first tick.
$M agent spawn --wallet 400J --bid 2 --role scientist --id sci1 -- node dist/src/agents/scientist.js --method mr
$M agent spawn --wallet 400J --bid 2 --role scientist --id sci2 --memory 64MiB -- node dist/src/agents/scientist.js --method mr
$M agent spawn --wallet 50J --bid 0.000001 --role leech --id leech1 -- node dist/src/agents/leech.js
# Knobs in the cgroup files, sampled until each has been seen (the auction moves them every tick).
seen_frozen=no seen_pinned=no seen_capped=no
for ((i = 0; i < 150; i++)); do
  g=$(groups)
  grep -q '/leech1/ freeze=1 frozen=1' <<<"$g" && seen_frozen=yes
  grep -Eq '/sci[12]/ .*cpus=[0-9]' <<<"$g" && seen_pinned=yes
  grep -Eq '/sci[12]/ .*cpu\.max=[0-9]+_' <<<"$g" && seen_capped=yes
  [ $seen_frozen$seen_pinned$seen_capped = yesyesyes ] && break
  sleep 0.2
done
echo "$g"
check leech-frozen "$seen_frozen"
check scientist-pinned "$seen_pinned"
check scientist-cpu-max "$seen_capped"
check sci2-memory-max "$(cat "$(unit_cg)"/maxwell/*/sci2/memory.max)"
check sci1-memory-max "$(cat "$(unit_cg)"/maxwell/*/sci1/memory.max)"
check outside-unit "$(ls -d /sys/fs/cgroup/maxwell 2>/dev/null || echo none)"
systemd-cgls --no-pager -u maxwell.service | head -20

# A crash with an agent frozen: systemd's SIGKILL reaches the whole unit, the sweep runs, nothing
# is left frozen or running; Restart=on-failure brings a new daemon.
LEECH_PID=$(cat "$(unit_cg)"/maxwell/*/leech1/cgroup.procs | head -1)
SCI_PID=$(cat "$(unit_cg)"/maxwell/*/sci1/cgroup.procs | head -1)
OLD_INSTANCE=$(basename "$(dirname "$(ls -d "$(unit_cg)"/maxwell/*/leech1)")")
check leech-frozen-before-kill "$(cat "$(unit_cg)"/maxwell/*/leech1/cgroup.freeze)"
systemctl kill -s KILL maxwell
wait_for '! kill -0 '"$LEECH_PID"' 2>/dev/null && ! kill -0 '"$SCI_PID"' 2>/dev/null' 30 && check agents-gone-after-kill yes || check agents-gone-after-kill no
wait_for '[ "$(systemctl show -p MainPID --value maxwell)" != "$MAIN" ] && [ "$(systemctl show -p MainPID --value maxwell)" != 0 ] && daemon_pid >/dev/null && [ "$(daemon_pid)" != "$MAIN" ]' 120 \
  && check restarted yes || check restarted no
check old-instance-left "$(find /sys/fs/cgroup -type d -name "$OLD_INSTANCE" | wc -l)"
check frozen-anywhere "$(grep -l '^frozen 1' $(find /sys/fs/cgroup -name cgroup.events) 2>/dev/null | wc -l)"
journalctl -u maxwell --no-pager -o cat | grep -E 'swept|nothing to sweep|Main process exited|Scheduled restart' | head -5

# A graceful stop with a paused and a pinned agent: every knob restored, everything removed.
$M agent spawn --wallet 400J --bid 2 --role scientist --id sci3 -- node dist/src/agents/scientist.js --method mr
$M agent spawn --wallet 50J --bid 0.000001 --role leech --id leech2 -- node dist/src/agents/leech.js
wait_for 'grep -q 1 "$(unit_cg)"/maxwell/*/leech2/cgroup.freeze 2>/dev/null' 30 && check leech2-frozen yes || check leech2-frozen no
STOP_PIDS=$(cat "$(unit_cg)"/maxwell/*/*/cgroup.procs | tr '\n' ' ')
systemctl stop maxwell
check stop-exit "$?"
check stop-result "$(systemctl show -p Result --value maxwell)"
alive=0; for p in $STOP_PIDS; do kill -0 "$p" 2>/dev/null && alive=$((alive + 1)); done
check alive-after-stop "$alive"
check unit-cgroup-after-stop "$(systemctl show -p ControlGroup --value maxwell)"
check maxwell-dirs-after-stop "$(find /sys/fs/cgroup -type d -name 'maxwell' -o -type d -name 'p[0-9]*-mxd*' | wc -l)"
check root-subtree-restored "$([ "$(cat /sys/fs/cgroup/cgroup.subtree_control)" = "$ROOT_SUBTREE_BEFORE" ] && echo yes || echo "no: $ROOT_SUBTREE_BEFORE -> $(cat /sys/fs/cgroup/cgroup.subtree_control)")"
check ledger-verify "$($M ledger verify --db /var/lib/maxwell/ledger.sqlite >/dev/null 2>&1; echo $?)"

# What the journal says: the decisions (--log-decisions) and the stop.
J=$(journalctl -u maxwell --no-pager -o cat)
check journal-decisions "$(grep -cE '^\[tick [0-9]+\] (pause|resume|throttle)' <<<"$J")"
check journal-stop "$(grep -c 'stopping: agents get SIGTERM' <<<"$J")"
grep -E '^\[tick [0-9]+\] ' <<<"$J" | head -5
grep -vE '^\[tick [0-9]+\] ' <<<"$J" | tail -25

# Enabled, started, agents running (one frozen), and a reboot in the middle of it all.
systemctl enable --now maxwell 2>&1
wait_for 'daemon_pid >/dev/null' 120 && check enabled-daemon yes || check enabled-daemon no
$M agent spawn --wallet 400J --bid 2 --role scientist --id sci4 -- node dist/src/agents/scientist.js --method mr
$M agent spawn --wallet 50J --bid 0.000001 --role leech --id leech3 -- node dist/src/agents/leech.js
wait_for 'grep -q 1 "$(unit_cg)"/maxwell/*/leech3/cgroup.freeze 2>/dev/null' 30 && check leech3-frozen-before-reboot yes || check leech3-frozen-before-reboot no
touch "${GUEST_REBOOT_FLAG:-/dev/null}"
