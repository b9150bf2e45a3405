#!/usr/bin/env bash
# Captures real telemetry sources on a GPU machine for Maxwell's fixtures (test/fixtures):
# nvidia-smi query-loop CSV, and the powercap / hwmon / thermal sysfs trees. Writes to $OUT.
set -u
OUT=${OUT:-/tmp/capture}
mkdir -p "$OUT"
{
  echo "## uname"; uname -a
  echo "## os"; cat /etc/os-release 2>/dev/null | head -3
  echo "## cpu"; grep -m1 'model name' /proc/cpuinfo; nproc
  echo "## node"; command -v node && node --version
  echo "## python"; command -v python3 && python3 -c 'import torch; print("torch", torch.__version__, torch.cuda.is_available())' 2>&1 | tail -1
  echo "## nvidia-smi"; command -v nvidia-smi; nvidia-smi --version 2>&1 | head -5
  echo "## nvidia-smi -L"; nvidia-smi -L 2>&1
  echo "## msr"; ls -la /dev/cpu/0/msr 2>&1; ls /dev/cpu 2>&1 | head -3
  echo "## powercap"; ls -la /sys/class/powercap 2>&1
  echo "## hwmon"; for h in /sys/class/hwmon/hwmon*; do echo "$h $(cat $h/name 2>/dev/null)"; done
  echo "## thermal"; for z in /sys/class/thermal/thermal_zone*; do echo "$z $(cat $z/type 2>/dev/null) $(cat $z/temp 2>/dev/null)"; done
} > "$OUT/env.txt" 2>&1
nvidia-smi --help-query-gpu > "$OUT/help-query-gpu.txt" 2>&1
Q=index,uuid,name,power.draw,temperature.gpu,utilization.gpu,total_energy_consumption
nvidia-smi --query-gpu=$Q --format=csv,noheader,nounits -lms 100 > "$OUT/query-loop.csv" 2>&1 &
P=$!
# A few seconds of GPU load, if torch is there, so the loop sees power and energy move.
timeout 6 python3 - <<'PY' >/dev/null 2>&1 || sleep 6
import time, torch
a = torch.randn(8192, 8192, device='cuda'); t = time.time()
while time.time() - t < 3: a = (a @ a).clamp_(-1, 1)
torch.cuda.synchronize(); time.sleep(2)
PY
kill $P 2>/dev/null
{ nvidia-smi --query-gpu=$Q --format=csv; nvidia-smi --query-gpu=power.draw.instant,power.draw.average,enforced.power.limit --format=csv; nvidia-smi --query-gpu=$Q --format=csv,noheader,nounits -i 99; } > "$OUT/query-variants.txt" 2>&1
# sysfs attribute files (not links, not big binaries) of the energy and thermal trees.
S=/tmp/sysfs-capture; rm -rf $S; mkdir -p $S
for d in /sys/class/powercap/*/ /sys/class/hwmon/*/ /sys/class/thermal/thermal_zone*/; do
  [ -d "$d" ] || continue
  for f in "$d"*; do
    [ -f "$f" ] || continue
    case "$(basename $f)" in uevent|modalias) continue;; esac
    mkdir -p "$S$(dirname $f)"; timeout 1 cat "$f" > "$S$f" 2>/dev/null || echo "ERR $?" > "$S$f.err"
  done
done
tar -C $S -czf "$OUT/sysfs.tar.gz" sys 2>/dev/null
ls -la "$OUT"
