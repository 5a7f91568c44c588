"""The node's per-GPU metrics in Prometheus text, under dcgm-exporter's names and labels, so dashboards
and queries written for NVIDIA's exporter read them unchanged.

Values come from each GPU's state directory (fake_gpu.state: what the engine holding it reports);
the holder's pod, namespace and container labels from the kubelet's pod resources API, as
dcgm-exporter's Kubernetes mapping adds them (absent for a GPU nobody holds).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from fake_gpu import state
from fake_gpu.inventory import GPU, NodeInventory
from fake_gpu.personality import DEFAULT, Personality
from fake_gpu.podresources import Holder
from fake_gpu.slices import gpu_name, gpu_uuid, pcie_bus_id

log = logging.getLogger("fake_gpu.metrics")
PORT = 9400  # dcgm-exporter's
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MIB = 2**20
_UNITS = {"": 1, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
# name, help (dcgm-exporter's default counters)
UTIL = ("DCGM_FI_DEV_GPU_UTIL", "GPU utilization (in %).")
FB_USED = ("DCGM_FI_DEV_FB_USED", "Framebuffer memory used (in MiB).")
FB_FREE = ("DCGM_FI_DEV_FB_FREE", "Framebuffer memory free (in MiB).")


def quantity_bytes(quantity: str) -> int:
    """A Kubernetes memory quantity (`80Gi`, `48G`, `1024`) in bytes."""
    match = re.fullmatch(r"(\d+)([KMGT]i?|k)?", quantity)
    if not match:
        raise ValueError(
            f"memory {quantity!r}: expected a whole number with an optional unit (Ki, Mi, Gi, Ti, k, M, G, T)"
        )
    return int(match[1]) * _UNITS[match[2] or ""]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


@dataclass(frozen=True)
class Sample:
    gpu: GPU
    state: state.DeviceState
    holder: Holder | None


def render(inv: NodeInventory, samples: list[Sample], personality: Personality = DEFAULT) -> str:
    lines: list[str] = []
    series: dict[str, list[str]] = {UTIL[0]: [], FB_USED[0]: [], FB_FREE[0]: []}
    for s in samples:
        labels = {
            "gpu": str(s.gpu.index),
            "UUID": gpu_uuid(inv, s.gpu),
            "pci_bus_id": pcie_bus_id(s.gpu),
            "device": Path(personality.device_node(s.gpu.index)).name,
            "modelName": s.gpu.model,
            "Hostname": inv.node,
        }
        if s.holder is not None:
            labels |= {"container": s.holder.container, "namespace": s.holder.namespace, "pod": s.holder.pod}
        text = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
        total = quantity_bytes(s.gpu.memory) // MIB
        used = min(total, s.state.memory_used_bytes // MIB)
        series[UTIL[0]].append(f"{UTIL[0]}{{{text}}} {round(s.state.busy * 100)}")
        series[FB_USED[0]].append(f"{FB_USED[0]}{{{text}}} {used}")
        series[FB_FREE[0]].append(f"{FB_FREE[0]}{{{text}}} {total - used}")
    for name, help_text in (UTIL, FB_USED, FB_FREE):
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", *series[name]]
    return "\n".join(lines) + "\n"


Holders = Callable[[], dict[str, Holder]]


def collect(inv: NodeInventory, holders: Holders, state_root: Path) -> list[Sample]:
    try:
        held = holders()
    except Exception as e:  # the kubelet restarting: values without holder labels beat no values
        log.warning("pod resources unavailable, holders left out: %s", e)
        held = {}
    return [Sample(g, state.read(state_root, gpu_name(g)), held.get(gpu_name(g))) for g in inv.gpus]


def serve(
    port: int, inv: NodeInventory, holders: Holders, state_root: Path, personality: Personality = DEFAULT
) -> ThreadingHTTPServer:
    """GET /metrics on `port`, in a daemon thread."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # http.server's name
            if self.path.split("?")[0] != "/metrics":
                self.send_error(404)
                return
            body = render(inv, collect(inv, holders, state_root), personality).encode()
            self.send_response(200)
            self.send_header("Content-Type", CONTENT_TYPE)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:  # one line per scrape would drown the driver's log
            pass

    server = ThreadingHTTPServer(("", port), Handler)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    log.info("serving GPU metrics on :%d/metrics", port)
    return server
