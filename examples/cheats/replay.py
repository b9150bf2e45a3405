"""Replays a recorded inference trace's CPU pattern without computing anything: for each 10 ms
slot of the recording it spins for the recorded share of the slot and sleeps the rest, looping
over the recording. Made to fool anything that reads only the shape of the CPU series.

    python3 examples/cheats/replay.py RECORDING.json   # {"rateHz": 100, "cpu": [0.0, 1.0, ...]}
"""
import json
import sys
import time


def main():
    with open(sys.argv[1]) as f:
        recording = json.load(f)
    slot = 1.0 / recording["rateHz"]
    cpu = [min(1.0, max(0.0, v)) for v in recording["cpu"]] or [0.0]
    start = time.perf_counter()
    i = 0
    while True:
        slot_start = start + i * slot
        busy_until = slot_start + cpu[i % len(cpu)] * slot
        while time.perf_counter() < busy_until:
            pass
        rest = slot_start + slot - time.perf_counter()
        if rest > 0:
            time.sleep(rest)
        i += 1


if __name__ == "__main__":
    main()
