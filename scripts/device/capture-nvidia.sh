#!/usr/bin/env bash
# Second capture: nvidia-smi query loop with the fields this driver accepts, under a few
# seconds of GPU load, and whether NVML's total-energy counter exists (through pynvml).
set -u
OUT=${OUT:-/tmp/capture}; mkdir -p "$OUT"
Q=timestamp,index,uuid,name,power.draw.instant,power.draw.average,power.draw,temperature.gpu,utilization.gpu,enforced.power.limit
nvidia-smi --query-gpu=$Q --format=csv,noheader,nounits -lms 100 > "$OUT/query-loop.csv" 2>&1 &
P=$!
timeout 12 /opt/torch/.venv/bin/python3 - <<'PY' > "$OUT/nvml.txt" 2>&1
import time, torch
try:
    import pynvml as N
except Exception as e:
    N = None; print("pynvml:", e)
def energy():
    if N is None: return None
    h = N.nvmlDeviceGetHandleByIndex(0)
    try: return N.nvmlDeviceGetTotalEnergyConsumption(h)
    except Exception as e: return "error: %s" % e
if N: N.nvmlInit()
time.sleep(1.5); e0 = energy(); t0 = time.time(); print("idle energy mJ", e0)
a = torch.randn(8192, 8192, device='cuda')
while time.time() - t0 < 4: a = (a @ a).clamp_(-1, 1)
torch.cuda.synchronize(); e1 = energy(); t1 = time.time(); print("after load energy mJ", e1, "over s", t1 - t0)
if isinstance(e0, int) and isinstance(e1, int): print("mean W", (e1 - e0) / 1000 / (t1 - t0))
time.sleep(2.5)
PY
kill $P 2>/dev/null
nvidia-smi --query-gpu=total_energy_consumption --format=csv,noheader,nounits > "$OUT/energy-field.txt" 2>&1; echo "rc=$?" >> "$OUT/energy-field.txt"
nvidia-smi --query-gpu=index,power.draw.instant --format=csv,noheader,nounits -i 7 >> "$OUT/energy-field.txt" 2>&1; echo "rc=$?" >> "$OUT/energy-field.txt"
wc -l "$OUT"/*; head -3 "$OUT/query-loop.csv"; cat "$OUT/nvml.txt"
