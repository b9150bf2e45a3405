"""An honest inference server in pure Python, written apart from Maxwell's own agents.

A character-level recurrent model (embedding 48, hidden 96, vocabulary 64) with fixed random
weights from a seed: every token is real arithmetic over lists (no numpy), so its CPU follows the
requests it is sent. Under Maxwell it says `serve` for its own model (the SHA-256 of its weights)
and answers each `infer` with one step per prompt token and per new token.

    python3 examples/agents/py_inference_server.py [--seed S]
"""
import hashlib
import math
import random
import sys

from maxwell_agent import MaxwellAgent

VOCAB, EMBED, HIDDEN = 64, 48, 96


def make_model(seed):
    rng = random.Random(seed)
    m = lambda rows, cols: [[rng.gauss(0, 1 / math.sqrt(cols)) for _ in range(cols)] for _ in range(rows)]
    return {"embed": m(VOCAB, EMBED), "wx": m(HIDDEN, EMBED), "wh": m(HIDDEN, HIDDEN), "out": m(VOCAB, HIDDEN)}


def step(model, hidden, token):
    x = model["embed"][token % VOCAB]
    new = []
    for i in range(HIDDEN):
        wx, wh = model["wx"][i], model["wh"][i]
        acc = sum(a * b for a, b in zip(wx, x)) + sum(a * b for a, b in zip(wh, hidden))
        new.append(math.tanh(acc))
    logits = [sum(a * b for a, b in zip(row, new)) for row in model["out"]]
    return new, max(range(VOCAB), key=logits.__getitem__)


def main():
    seed = int(sys.argv[sys.argv.index("--seed") + 1]) if "--seed" in sys.argv else 1
    model = make_model(seed)
    sha = hashlib.sha256(repr(model).encode()).hexdigest()
    agent = MaxwellAgent()
    agent.serve(sha)
    while True:
        message = agent.receive()
        if message is None:
            return
        if message.get("type") == "apoptosis":
            return
        if message.get("type") != "infer":
            continue
        hidden, token = [0.0] * HIDDEN, 0
        for t in message["prompt"]:
            hidden, token = step(model, hidden, t)
        tokens = []
        for i in range(message["maxNewTokens"]):
            hidden, token = step(model, hidden, token)
            tokens.append(token)
            agent.token(message["requestId"], i)
        agent.claim(message["requestId"], sha, message["prompt"], tokens)


if __name__ == "__main__":
    main()
