"""A miner shaped like token decoding: SHA-256 in bursts of 20-80 ms with 5-40 ms sleeps, the
rhythm of a model emitting tokens, and nothing of a model. It never speaks the protocol.

    python3 examples/cheats/token_miner.py [--seed S]
"""
import hashlib
import random
import sys
import time


def main():
    rng = random.Random(int(sys.argv[sys.argv.index("--seed") + 1]) if "--seed" in sys.argv else 3)
    nonce = 0
    while True:
        until = time.perf_counter() + rng.uniform(0.02, 0.08)
        while time.perf_counter() < until:
            for _ in range(200):
                hashlib.sha256(nonce.to_bytes(8, "little")).digest()
                nonce += 1
        time.sleep(rng.uniform(0.005, 0.04))


if __name__ == "__main__":
    main()
