"""A minimal Maxwell agent-protocol client in plain Python (docs/PROTOCOL.md).

Frames are a 4-byte big-endian length and that many bytes of UTF-8 JSON. The first frame is
`hello` with the agent id and token the daemon put in the environment (MAXWELL_SOCKET,
MAXWELL_TOKEN, MAXWELL_AGENT_ID). No dependency beyond the standard library.
"""
import hashlib
import json
import os
import socket
import struct
import threading


class MaxwellAgent:
    def __init__(self):
        path = os.environ.get("MAXWELL_SOCKET")
        if not path:
            raise SystemExit("MAXWELL_SOCKET is not set: not running under Maxwell")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.lock = threading.Lock()
        self.seq = 0
        self.buffer = b""
        self.send({"type": "hello", "protocol": 1, "agentId": os.environ["MAXWELL_AGENT_ID"], "token": os.environ["MAXWELL_TOKEN"]})
        welcome = self.receive()
        if welcome is None or welcome.get("type") != "welcome":
            raise SystemExit(f"no welcome from the daemon: {welcome}")

    def send(self, message):
        body = json.dumps(message, separators=(",", ":")).encode()
        with self.lock:
            self.sock.sendall(struct.pack(">I", len(body)) + body)

    def receive(self):
        """The next message, or None when the daemon closed the socket."""
        while True:
            if len(self.buffer) >= 4:
                (n,) = struct.unpack(">I", self.buffer[:4])
                if len(self.buffer) >= 4 + n:
                    body, self.buffer = self.buffer[4 : 4 + n], self.buffer[4 + n :]
                    return json.loads(body)
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buffer += chunk

    def next_seq(self):
        self.seq += 1
        return self.seq

    def bid(self, joules_per_quantum):
        self.send({"type": "bid", "seq": self.next_seq(), "pricePerQuantumJ": joules_per_quantum})

    def serve(self, model_sha256):
        self.send({"type": "serve", "seq": self.next_seq(), "modelSha256": model_sha256})

    def token(self, request_id, index):
        self.send({"type": "token", "requestId": request_id, "index": index})

    def claim(self, request_id, model_sha256, prompt, tokens):
        sha = lambda values: hashlib.sha256(json.dumps(values).encode()).hexdigest()
        self.send({"type": "claim", "requestId": request_id, "modelSha256": model_sha256, "inputCommitment": sha(prompt),
                   "tokens": tokens, "logits": "", "outputCommitment": sha(tokens), "spotCommitments": {}})
