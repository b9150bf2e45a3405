# What service.sh and after-reboot.sh share (sourced, not run): the CLI, the daemon's state folder,
# and small helpers that read the system without starting Node (seconds per start under TCG).
M="node /opt/maxwell/dist/src/cli/bin.js"
export MAXWELL_STATE__DIR=/run/maxwell
# `CHECK <name> <value>`, the lines the host's test asserts on; CHECK_PREFIX names the boot.
check() { echo "CHECK ${CHECK_PREFIX:-}$*"; }
# Waits (up to $2 s) for a command to succeed.
wait_for() { local i; for ((i = 0; i < $2 * 5; i++)); do eval "$1" && return 0; sleep 0.2; done; return 1; }
# The pid in daemon.json.
daemon_pid() { grep -o '"pid": *[0-9]*' /run/maxwell/daemon.json 2>/dev/null | grep -o '[0-9]*$'; }
# The unit's cgroup folder.
unit_cg() { echo "/sys/fs/cgroup$(systemctl show -p ControlGroup --value maxwell)"; }
