"""With $LLMC_ACCELERATOR_STATE (the fake GPU driver's state directories), the engine reports each
second how busy it was and the memory it holds, in every GPU's directory; without it, nothing."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import openai
from fake_gpu import state
from mock_process import MODEL
from mock_vllm.accelerator import FILE, WEIGHTS_BYTES, write


def reported(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / FILE).read_text())
    return data


def test_engine_reports_busy_under_a_request_and_idle_after(spawn: Any, tmp_path: Path) -> None:
    gpus = [tmp_path / "gpu-0", tmp_path / "gpu-1"]
    for g in gpus:
        g.mkdir()
    server = spawn(["--inter-token-latency", "20"], env={"LLMC_ACCELERATOR_STATE": str(tmp_path)})
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="none", max_retries=0, timeout=20)
    server.wait(lambda: all((g / FILE).exists() for g in gpus), 5, "a first report in every GPU directory")
    assert reported(gpus[0])["busy"] == 0 and reported(gpus[0])["memory_used_bytes"] == WEIGHTS_BYTES
    request = threading.Thread(target=lambda: client.completions.create(model=MODEL, prompt="x", max_tokens=150))
    request.start()  # ~3 s of generation
    server.wait(lambda: reported(gpus[1])["busy"] >= 0.9, 5, "busy while the request runs")
    assert reported(gpus[1])["memory_used_bytes"] > WEIGHTS_BYTES  # the sequence's KV cache
    request.join(timeout=10)
    server.wait(lambda: reported(gpus[0])["busy"] == 0, 5, "idle after it")
    assert abs(reported(gpus[0])["updated"] - time.time()) < 5


def test_no_state_directory_no_reports(spawn: Any, tmp_path: Path) -> None:
    (tmp_path / "gpu-0").mkdir()
    server = spawn()
    time.sleep(1.5)
    assert not (tmp_path / "gpu-0" / FILE).exists() and "reporting GPU" not in server.stop_and_output()


def test_the_driver_reads_what_the_engine_writes(tmp_path: Path) -> None:
    # The two sides of the state file contract (workloads/mock-vllm/README.md), each from its own package.
    (tmp_path / "gpu-3").mkdir()
    write(tmp_path, 0.75, 3 * 2**30)
    assert state.read(tmp_path, "gpu-3") == state.DeviceState(0.75, 3 * 2**30)
