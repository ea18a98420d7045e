"""The soak's short variant (make soak runs it for ten minutes on a release
stack): tests/soak/soak.py's mixed load (browse, search, own orders,
sign-in, order, cancel) through the gateway at half the measured peak, and
its checks: no 5xx, memory flat after warm-up, no descriptor, thread or
connection growth, every order settled, stock and reservations consistent.

The gateway's per-client limit exists to refuse exactly this (one client at
full speed), so the gateway runs without it for the soak and gets its
settings back after."""

import os
import subprocess
import sys
from pathlib import Path

from conftest import stack

SOAK = Path(__file__).resolve().parents[1] / "soak" / "soak.py"
SECONDS = int(os.environ.get("SOAK_SECONDS", 60))


def test_soak_short():
    stack("stop-service", "gateway")
    try:
        stack("start-service", "gateway", RATE_LIMIT_RPS=0)
        done = subprocess.run([sys.executable, str(SOAK), "--seconds", str(SECONDS),
                               "--peak-seconds", "8"],
                              capture_output=True, text=True, timeout=SECONDS + 300)
    finally:
        stack("stop-service", "gateway")
        stack("start-service", "gateway")
    print(done.stdout)
    assert done.returncode == 0, done.stdout + done.stderr
