"""The group ring with real processes on 127.0.0.1: forms, breaks, refuses a restarted member, and
only a whole new group forms a new one. Placement from the fake driver's env slows the ring."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from typing import Any

import openai
import pytest
import requests
from mock_process import MODEL, MockVLLM, free_port, samples
from mock_vllm.topology import GroupPlacement, Placement

ALIGNED = {"LLMC_GPUS": "gpu-0,gpu-1", "LLMC_GPU_NUMA": "0,0", "LLMC_NICS": "nic-0", "LLMC_NIC_NUMA": "0"}
MISALIGNED = {"LLMC_GPUS": "gpu-2,gpu-3", "LLMC_GPU_NUMA": "1,1", "LLMC_NICS": "nic-0", "LLMC_NIC_NUMA": "0"}


def group_env(size: int, index: int, leader_port: int, placement: dict[str, str] | None = None) -> dict[str, str]:
    env = {"LWS_GROUP_SIZE": str(size), "LWS_WORKER_INDEX": str(index), "LWS_LEADER_ADDRESS": "127.0.0.1"}
    return {**env, **(placement or {})}


def start_group(
    spawn: Callable[..., MockVLLM],
    size: int,
    placements: list[dict[str, str]] | None = None,
    args: list[str] | None = None,
) -> list[MockVLLM]:
    port = free_port()
    placements = placements or [{}] * size
    ring = ["--ring-port", str(port), *(args or [])]
    leader = spawn(ring, group_env(size, 0, port, placements[0]), wait_healthy=False, port=port)
    workers = [spawn(ring, group_env(size, i, port, placements[i])) for i in range(1, size)]
    leader.wait(lambda: leader.health().status_code == 200, 10, "ready with its ring formed")
    return [leader, *workers]


def ring(server: MockVLLM) -> dict[str, Any]:
    reply: dict[str, Any] = requests.get(f"{server.url}/ring", timeout=2).json()
    return reply


def test_leader_is_ready_only_when_every_worker_joined(spawn: Any) -> None:
    port = free_port()
    leader = spawn([], group_env(3, 0, port), wait_healthy=False, port=port)
    assert leader.health().status_code == 503
    assert leader.health().json()["reason"] == "ring forming: 1/3 members joined"
    reply = requests.post(f"{leader.url}/v1/completions", json={"model": MODEL, "prompt": "x"}, timeout=5)
    assert reply.status_code == 503 and "ring forming" in reply.json()["error"]["message"]
    spawn(["--ring-port", str(port)], group_env(3, 1, port))
    leader.wait(lambda: ring(leader)["joined"] == [0, 1], 5, "joined by worker 1")
    assert leader.health().status_code == 503
    worker2 = spawn(["--ring-port", str(port)], group_env(3, 2, port))
    leader.wait(lambda: leader.health().status_code == 200, 5, "ready")
    assert samples(leader.url)["llmc:ring_members"] == 3
    worker = requests.post(f"{worker2.url}/v1/completions", json={"model": MODEL, "prompt": "x"}, timeout=5)
    assert worker.status_code == 503 and "leader" in worker.json()["error"]["message"]


def test_lost_member_breaks_the_ring_and_a_restarted_one_is_refused(spawn: Any) -> None:
    leader, worker1, worker2 = start_group(spawn, 3, args=["--inter-token-latency", "20"])
    client = openai.OpenAI(base_url=f"{leader.url}/v1", api_key="none", max_retries=0, timeout=10)
    stream = client.completions.create(model=MODEL, prompt="x", max_tokens=200, stream=True)
    next(iter(stream))
    worker2.signal(signal.SIGKILL)  # no goodbye: the leader finds out from the closed connection
    leader.wait(lambda: leader.health().status_code == 503, 5, "broken")
    assert leader.health().json()["reason"].startswith("ring broken: worker 2 lost")
    m = samples(leader.url)
    assert m["llmc:ring_broken"] == 1 and m["llmc:ring_formed"] == 0
    with pytest.raises(openai.APIError, match="ring broken"):  # the running stream dies, as on NCCL failure
        list(stream)
    with pytest.raises(openai.InternalServerError, match="ring broken"):
        client.completions.create(model=MODEL, prompt="x", max_tokens=1)
    worker1.wait(lambda: ring(worker1)["phase"] == "broken", 5, "told the ring broke")

    restarted = spawn(["--ring-port", str(leader.port)], group_env(3, 2, leader.port), wait_healthy=False)
    restarted.wait(lambda: ring(restarted)["phase"] == "broken", 5, "refused")
    assert (
        "refused by the leader" in ring(restarted)["reason"] and "restart the whole group" in ring(restarted)["reason"]
    )
    assert restarted.health().status_code == 503
    assert leader.health().status_code == 503  # the old ring stays broken

    new_leader, *_ = start_group(spawn, 3)  # a whole new group forms a new ring
    assert ring(new_leader)["ring_id"] != ring(leader)["ring_id"]


def test_a_frozen_member_is_lost_by_heartbeat(spawn: Any) -> None:
    leader, worker = start_group(spawn, 2, args=["--ring-heartbeat", "0.5", "--ring-timeout", "2"])
    worker.signal(signal.SIGSTOP)  # its connection stays open, as on a stopped node: only pings tell
    try:
        leader.wait(lambda: leader.health().status_code == 503, 10, "broken by a missed heartbeat")
        assert leader.health().json()["reason"] == "ring broken: worker 1 lost (heartbeat missed: silent for 2 s)"
    finally:
        worker.signal(signal.SIGCONT)


def test_a_member_stalled_shorter_than_the_timeout_stays(spawn: Any) -> None:
    leader, worker = start_group(spawn, 2, args=["--ring-heartbeat", "0.5", "--ring-timeout", "4"])
    worker.signal(signal.SIGSTOP)  # a CPU-starved pod: several beats late, not dead
    time.sleep(2.5)
    worker.signal(signal.SIGCONT)
    time.sleep(1)
    assert leader.health().status_code == 200, leader.health().json()
    assert ring(worker)["phase"] == "formed"


def test_join_after_formation_is_refused(spawn: Any) -> None:
    leader, _ = start_group(spawn, 2)
    late = spawn(["--ring-port", str(leader.port)], group_env(2, 1, leader.port), wait_healthy=False)
    late.wait(lambda: ring(late)["phase"] == "broken", 5, "refused")
    assert "cannot rejoin" in ring(late)["reason"]
    assert leader.health().status_code == 200  # a stranger's attempt does not break a healthy ring


def test_placement_slows_the_ring(spawn: Any) -> None:
    racks = [{**ALIGNED, "LLMC_RACK": "rack-1"}, {**MISALIGNED, "LLMC_RACK": "rack-2"}]
    leader, _ = start_group(spawn, 2, racks, ["--inter-token-latency", "5", "--cross-rack-slowdown", "3"])
    seen = ring(leader)
    assert seen["placement"]["numa_aligned"] is False and seen["placement"]["cross_rack"] is True
    assert seen["placement"]["racks"] == ["rack-1", "rack-2"]
    assert seen["itl_slowdown"] == pytest.approx(1.5 * 3)
    assert samples(leader.url)["llmc:itl_slowdown_factor"] == pytest.approx(4.5)
    client = openai.OpenAI(base_url=f"{leader.url}/v1", api_key="none", max_retries=0, timeout=10)
    begun = time.monotonic()
    client.completions.create(model=MODEL, prompt="x", max_tokens=21)
    assert time.monotonic() - begun >= 20 * 0.005 * 4.5  # a lower bound only: timing is measured in benchmarks


def test_group_placement_verdicts() -> None:
    aligned = Placement.from_env({**ALIGNED, "LLMC_RACK": "rack-1"})
    misaligned = Placement.from_env({**MISALIGNED, "LLMC_RACK": "rack-1"})
    unknown = Placement.from_env({})
    assert GroupPlacement({0: aligned, 1: aligned}).slowdown(1.5, 2.0) == 1.0
    assert GroupPlacement({0: aligned, 1: misaligned}).slowdown(1.5, 2.0) == 1.5
    assert GroupPlacement({0: aligned, 1: unknown}).verdicts() == {"numa_aligned": None, "cross_rack": None}
    assert GroupPlacement({0: aligned, 1: unknown}).slowdown(1.5, 2.0) == 1.0  # unknown costs nothing
    other_rack = Placement.from_env({**ALIGNED, "LLMC_RACK": "rack-2"})
    assert GroupPlacement({0: aligned, 1: other_rack}).slowdown(1.5, 2.0) == 2.0
