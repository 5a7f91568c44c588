"""How much one Locust process measures truthfully: steps of users against a mock vLLM on 127.0.0.1.

For each step it reports requests/s, streamed tokens/s, mean concurrent streams, and how far the
measured TTFT and ITL p50 are from what the server was configured to do. The load tool's stated
tolerance (the same as tests/load) is max(25 %, 15 ms) for TTFT and max(25 %, 5 ms) for ITL; the
first step past it is where one Locust process stops being a trustworthy instrument here.

    python benchmarks/load_capacity.py [--users 8,32,64,128,256] [--seconds 10]

Server and Locust are pinned to different cores (taskset) when there are two, so the figures are
the load generator's, not the mock's (which streams ~30k tokens/s on one core).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from harness.load import LoadSpec, run

TTFT_MS, ITL_MS, TOKENS = 100.0, 20.0, 32


def start_server(port: int) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable,
        "-m",
        "mock_vllm",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--time-to-first-token",
        str(TTFT_MS),
        "--inter-token-latency",
        str(ITL_MS),
        "--max-num-seqs",
        "4096",
        "--max-waiting-queue-length",
        "4096",
    ]
    if shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        cmd = ["taskset", "-c", "0", *cmd]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except requests.ConnectionError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("mock-vllm did not become healthy within 15 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", default="8,32,64,128,256")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--port", type=int, default=18731)
    args = parser.parse_args()
    if shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        os.sched_setaffinity(0, {1})  # Locust (a child of this process) on the other core
    server = start_server(args.port)
    print(
        f"server: TTFT {TTFT_MS:.0f} ms, ITL {ITL_MS:.0f} ms, {TOKENS} tokens per stream; {args.seconds:.0f} s per step"
    )
    print("| users | req/s | tokens/s | streams | TTFT p50 ms (err) | ITL p50 ms (err) | failed | within tolerance |")
    print("|---:|---:|---:|---:|---:|---:|---:|:---:|")
    try:
        for users in (int(u) for u in args.users.split(",")):
            with tempfile.TemporaryDirectory() as out:
                spec = LoadSpec(
                    f"http://127.0.0.1:{args.port}",
                    users=users,
                    spawn_rate=users,
                    duration=args.seconds,
                    max_tokens=TOKENS,
                )
                r = run(spec, Path(out))
            ttft = (r.ttft.p50 or 0) * 1000
            itl = (r.itl.p50 or 0) * 1000
            busy = [s.in_flight for s in r.timeline[1:-1]] or [0]
            ok = abs(ttft - TTFT_MS) <= max(0.25 * TTFT_MS, 15) and abs(itl - ITL_MS) <= max(0.25 * ITL_MS, 5)
            print(
                f"| {users} | {r.requests_per_second:.1f} | {r.tokens_per_second:.0f} | {sum(busy) / len(busy):.0f} "
                f"| {ttft:.0f} ({ttft - TTFT_MS:+.0f}) | {itl:.1f} ({itl - ITL_MS:+.1f}) | {r.failed} "
                f"| {'yes' if ok else 'no'} |",
                flush=True,
            )
    finally:
        server.kill()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
