"""What one core of mock vLLM sustains: concurrent streams, streamed tokens/s, and how far the measured
TTFT and inter-token latency drift from the configured values as load grows.

A benchmark, not a test: it reports figures and asserts nothing. The server runs pinned to one CPU,
the load generator (asyncio + aiohttp, one process) on the other; all traffic goes to 127.0.0.1, and
each load step is bounded in time and in requests.

    python benchmarks/mock_vllm.py                       # mock-vllm, default steps
    python benchmarks/mock_vllm.py --server /path/to/llm-d-inference-sim   # the same load against it

The server is started with flags both engines share (--port, --model, --time-to-first-token,
--inter-token-latency, --max-num-seqs), so the same command line fits llm-d-inference-sim.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field

import aiohttp

MODEL = "mock-model"


@dataclass
class Step:
    concurrency: int
    seconds: float = 0.0
    streams: int = 0
    failures: int = 0
    tokens: int = 0
    ttft_ms: list[float] = field(default_factory=list, repr=False)
    itl_ms: list[float] = field(default_factory=list, repr=False)
    server_cpu_seconds: float = 0.0
    client_cpu_seconds: float = 0.0

    def summary(self, ttft: float, itl: float) -> dict[str, float | int]:
        def pct(values: list[float], q: float) -> float:
            return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) >= 2 else float("nan")

        return {
            "concurrency": self.concurrency,
            "streams": self.streams,
            "failures": self.failures,
            "streams_per_s": self.streams / self.seconds,
            "tokens_per_s": self.tokens / self.seconds,
            "ttft_p50_ms": pct(self.ttft_ms, 50),
            "ttft_p99_ms": pct(self.ttft_ms, 99),
            "ttft_drift_p50_ms": pct(self.ttft_ms, 50) - ttft,
            "itl_p50_ms": pct(self.itl_ms, 50),
            "itl_p99_ms": pct(self.itl_ms, 99),
            "itl_drift_p50_ms": pct(self.itl_ms, 50) - itl,
            "server_cpu_percent": 100 * self.server_cpu_seconds / self.seconds,
            "client_cpu_percent": 100 * self.client_cpu_seconds / self.seconds,
            # CPU time per streamed token: what bounds one core's throughput, whatever else the machine runs.
            "server_cpu_us_per_token": 1e6 * self.server_cpu_seconds / max(self.tokens, 1),
        }


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def one_stream(session: aiohttp.ClientSession, url: str, tokens: int, step: Step) -> None:
    body = {"model": MODEL, "prompt": "benchmark", "max_tokens": tokens, "stream": True}
    sent = time.monotonic()
    last, count = sent, 0
    try:
        async with session.post(url, json=body) as reply:
            if reply.status != 200:
                step.failures += 1
                return
            async for line in reply.content:
                # Only timestamps matter: no JSON parsing, so the client stays cheap.
                if not line.startswith(b'data: {"id"'):
                    continue
                now = time.monotonic()
                (step.itl_ms if count else step.ttft_ms).append((now - last) * 1000)
                last, count = now, count + 1
    except (aiohttp.ClientError, TimeoutError):
        step.failures += 1
        return
    step.streams += 1
    step.tokens += count


async def run_step(url: str, concurrency: int, tokens: int, seconds: float, max_requests: int, pid: int) -> Step:
    """`concurrency` clients, each streaming back to back until `seconds` or `max_requests` pass."""
    step = Step(concurrency)
    deadline = time.monotonic() + seconds
    budget = [max_requests]
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=seconds + 60)

    async def client(session: aiohttp.ClientSession) -> None:
        while time.monotonic() < deadline and budget[0] > 0:
            budget[0] -= 1
            await one_stream(session, url, tokens, step)

    server_cpu, client_cpu, started = cpu_seconds(pid), time.process_time(), time.monotonic()
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await asyncio.gather(*(client(session) for _ in range(concurrency)))
    step.seconds = time.monotonic() - started
    step.server_cpu_seconds = cpu_seconds(pid) - server_cpu
    step.client_cpu_seconds = time.process_time() - client_cpu
    return step


def start_server(command: list[str], port: int, ttft: float, itl: float, cpu: int) -> subprocess.Popen[bytes]:
    args = [
        *command, "--port", str(port), "--model", MODEL, "--max-num-seqs", "4096",
        "--time-to-first-token", f"{ttft:g}", "--inter-token-latency", f"{itl:g}",
    ]  # fmt: skip
    proc = subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=lambda: os.sched_setaffinity(0, {cpu})
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=1)
            return proc
        time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"{' '.join(args)} did not answer on 127.0.0.1:{port} within 20 s")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--server", default=f"{sys.executable} -m mock_vllm", help="engine command (flags are appended)")
    p.add_argument("--port", type=int, default=18931)
    p.add_argument("--ttft", type=float, default=50, help="configured time to first token, ms")
    p.add_argument("--itl", type=float, default=20, help="configured inter-token latency, ms")
    p.add_argument("--tokens", type=int, default=100, help="tokens per stream")
    p.add_argument("--steps", default="1,16,64,256,512,1024", help="concurrency per step")
    p.add_argument("--seconds", type=float, default=10, help="per step")
    p.add_argument("--max-requests", type=int, default=20000, help="per step")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    a = p.parse_args()
    server_cpu, client_cpu = 0, 1 if (os.cpu_count() or 1) > 1 else 0
    os.sched_setaffinity(0, {client_cpu})
    proc = start_server(a.server.split(), a.port, a.ttft, a.itl, server_cpu)
    url = f"http://127.0.0.1:{a.port}/v1/completions"
    results = []
    try:
        for concurrency in (int(c) for c in a.steps.split(",")):
            step = asyncio.run(run_step(url, concurrency, a.tokens, a.seconds, a.max_requests, proc.pid))
            results.append(step.summary(a.ttft, a.itl))
            if not a.json:
                print(*([header(a)] if len(results) == 1 else []), row(results[-1]), sep="\n", flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    if a.json:
        print(json.dumps({"config": vars(a), "steps": results}, indent=2))


def header(a: argparse.Namespace) -> str:
    return (
        f"server: {a.server} (1 CPU); configured TTFT {a.ttft:g} ms, ITL {a.itl:g} ms, {a.tokens} tokens/stream, "
        f"{a.seconds:g} s per step\n"
        "| concurrency | streams | failed | tokens/s | TTFT p50 / p99 ms | ITL p50 / p99 ms "
        "| server CPU % | server CPU µs/token | client CPU % |\n"
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )


def row(s: dict[str, float | int]) -> str:
    return (
        f"| {s['concurrency']} | {s['streams']} | {s['failures']} | {s['tokens_per_s']:.0f} | "
        f"{s['ttft_p50_ms']:.1f} / {s['ttft_p99_ms']:.1f} | {s['itl_p50_ms']:.1f} / {s['itl_p99_ms']:.1f} | "
        f"{s['server_cpu_percent']:.0f} | {s['server_cpu_us_per_token']:.0f} | {s['client_cpu_percent']:.0f} |"
    )


if __name__ == "__main__":
    main()
