"""The accelerator checks on observations: the probe's output (run here with sh, on a folder standing
in for /dev), what each container may see, and per-GPU series before, under and after load."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import pytest
from fake_gpu.personality import DEFAULT, NVIDIA

from harness.checks import CheckFailed
from harness.checks.accelerators import (
    DeviceSeries,
    Expected,
    Held,
    Seen,
    check_metrics_follow_load,
    check_sees_only_its_own,
)
from harness.scenarios.accelerators import probe_script


def probe(dev: Path, env: dict[str, str]) -> str:
    personality = dataclasses.replace(NVIDIA, device_node_prefix=str(dev / "nvidia"))
    script = probe_script(personality).replace("exec sleep 3600", "")
    return subprocess.run(["sh", "-c", script], capture_output=True, text=True, env=env, check=True).stdout


def test_probe_counts_gpu_nodes_only_and_names_accelerator_env(tmp_path: Path) -> None:
    for name in ("nvidia0", "nvidia3", "nvidiactl", "nvidia-uvm"):  # control devices are not GPUs
        (tmp_path / name).touch()
    seen = Seen.from_log("p/c", probe(tmp_path, {"NVIDIA_VISIBLE_DEVICES": "GPU-1", "HOME": "/"}))
    assert seen.nodes == (str(tmp_path / "nvidia0"), str(tmp_path / "nvidia3"))
    assert seen.env == {"NVIDIA_VISIBLE_DEVICES": "GPU-1"}
    empty = Seen.from_log("p/c", probe(tmp_path / "none", {}))
    assert (empty.nodes, empty.env) == ((), {})


def test_seen_needs_the_result_line() -> None:
    with pytest.raises(CheckFailed, match="p/c: the probe printed no RESULT line"):
        Seen.from_log("p/c", "sh: not found")


def own(where: str, node: str, visible: str) -> tuple[Seen, Expected]:
    return Seen(where, (node,), {"NVIDIA_VISIBLE_DEVICES": visible}), Expected(
        frozenset({node}), visible, "NVIDIA_VISIBLE_DEVICES"
    )


NOTHING = Expected(visible_env="NVIDIA_VISIBLE_DEVICES")


def test_each_container_sees_only_its_own() -> None:
    check_sees_only_its_own(
        [
            (Seen("no-claim/probe", (), {}), NOTHING),
            own("split/holder", "/dev/nvidia0", "GPU-0"),
            (Seen("split/neighbour", (), {}), NOTHING),
            own("pod-a/probe", "/dev/nvidia1", "GPU-1"),
            own("pod-b/probe", "/dev/nvidia2", "GPU-2"),
        ]
    )


def test_a_pod_reaching_devices_without_a_claim_fails_naming_it() -> None:
    reaching = Seen("no-claim/probe", ("/dev/nvidia0", "/dev/nvidia1"), {})
    with pytest.raises(
        CheckFailed, match=r"no-claim/probe: device nodes \['/dev/nvidia0', '/dev/nvidia1'\], expected \[\]"
    ):
        check_sees_only_its_own([(reaching, NOTHING), own("pod-a/probe", "/dev/nvidia0", "GPU-0")])


def test_env_without_a_claim_or_a_missing_device_fails() -> None:
    with pytest.raises(CheckFailed, match=r"split/neighbour: accelerator env \{'LLMC_GPUS': 'gpu-0'\} without a claim"):
        check_sees_only_its_own([(Seen("split/neighbour", (), {"LLMC_GPUS": "gpu-0"}), NOTHING)])
    seen, want = own("pod-a/probe", "/dev/nvidia1", "GPU-1")
    with pytest.raises(CheckFailed, match=r"pod-a/probe: device nodes \[\], expected \['/dev/nvidia1'\]"):
        check_sees_only_its_own([(Seen("pod-a/probe", (), seen.env), want)])


def test_a_shared_device_node_fails() -> None:
    a, b = own("pod-a/probe", "/dev/nvidia1", "GPU-1"), own("pod-b/probe", "/dev/nvidia1", "GPU-1")
    with pytest.raises(CheckFailed, match="seen by more than one container"):
        check_sees_only_its_own([a, b])


HELD = [
    Held("w1", "gpu-0", "GPU-a", "engine-1", "ns", "mock-vllm"),
    Held("w2", "gpu-1", "GPU-b", "engine-2", "ns", "mock-vllm"),
]


def series(peak: float, after: float, pod: str) -> DeviceSeries:
    labels = {"pod": pod, "namespace": "ns", "container": "mock-vllm"}
    return DeviceSeries(labels, util_before=0, util_peak=peak, util_after=after, memory_used_mib=2048)


def test_metrics_rise_under_load_and_fall_after() -> None:
    figures = check_metrics_follow_load(HELD, {"GPU-a": series(100, 0, "engine-1"), "GPU-b": series(80, 5, "engine-2")})
    assert figures == {"devices": 2, "lowest_peak_util": 80, "highest_util_after": 5}


def test_idle_engines_fail_naming_the_gpu() -> None:
    with pytest.raises(
        CheckFailed, match=r"GPU GPU-b \(w2/gpu-1, held by ns/engine-2\): utilisation under load peaked at 0"
    ):
        check_metrics_follow_load(HELD, {"GPU-a": series(100, 0, "engine-1"), "GPU-b": series(0, 0, "engine-2")})


def test_missing_series_wrong_holder_or_no_fall_fail() -> None:
    with pytest.raises(CheckFailed, match=r"GPU-b .* no utilisation or memory series"):
        check_metrics_follow_load(HELD, {"GPU-a": series(100, 0, "engine-1")})
    with pytest.raises(CheckFailed, match=r"GPU-a .* series labelled .*'pod': 'engine-2'"):
        check_metrics_follow_load(HELD, {"GPU-a": series(100, 0, "engine-2"), "GPU-b": series(90, 0, "engine-2")})
    with pytest.raises(CheckFailed, match=r"GPU-a .* after the load 60"):
        check_metrics_follow_load(HELD, {"GPU-a": series(100, 60, "engine-1"), "GPU-b": series(90, 0, "engine-2")})
    with pytest.raises(CheckFailed, match="no GPU was allocated"):
        check_metrics_follow_load([], {})


def test_default_personality_probe_glob() -> None:
    assert "/dev/llmc-gpu[0-9]*" in probe_script(DEFAULT) and "LLMC_GPUS" in probe_script(DEFAULT)
