"""A cheat's wrapper that speaks the protocol: it runs COMMAND (what the cheat really does) as
its child, says `serve` for a made-up model, and answers every request at once with tokens it
never computed. It tests what a cheat that knows the protocol gets past: the daemon's probes
find its CPU ignoring the requests (the child's CPU counts: the trace follows the process tree).

    python3 examples/cheats/serve_shim.py COMMAND [ARG...]
"""
import hashlib
import os
import random
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "agents"))
from maxwell_agent import MaxwellAgent  # noqa: E402


def main():
    child = subprocess.Popen(sys.argv[1:]) if len(sys.argv) > 1 else None
    sha = hashlib.sha256(b"a model nobody has").hexdigest()
    agent = MaxwellAgent()
    agent.serve(sha)
    try:
        while True:
            message = agent.receive()
            if message is None or message.get("type") == "apoptosis":
                return
            if message.get("type") != "infer":
                continue
            tokens = [random.randrange(64) for _ in range(message["maxNewTokens"])]
            for i in range(len(tokens)):
                agent.token(message["requestId"], i)
            agent.claim(message["requestId"], sha, message["prompt"], tokens)
    finally:
        if child is not None:
            child.kill()


if __name__ == "__main__":
    main()
