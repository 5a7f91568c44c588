"""Mock vLLM groups whose every member holds all the GPUs of one node (through the device profile's
class), so that the testbed's GPU count alone decides how many members (and groups) fit: the setup
of the gang checks."""

from __future__ import annotations

from dataclasses import dataclass

from harness.builders.lws import LeaderWorkerSet
from harness.dra.claims import FAKE_GPU, Claim
from harness.dra.profile import DeviceProfile
from harness.kube.objects import Object
from harness.serving.manifests import Engine, mock_vllm_lws
from harness.spec import Testbed

NODE_GPUS = "node-gpus"  # the ResourceClaimTemplate every member names


@dataclass(frozen=True)
class GpuLayout:
    nodes: int  # workers with GPUs
    per_node: int  # GPUs every such worker has at least: one member's claim
    total: int  # GPUs on the testbed: the quota that represents them

    @classmethod
    def of(cls, spec: Testbed) -> GpuLayout:
        counts = [w.hardware.gpu_count for w in spec.workers if w.hardware and w.hardware.gpu_count]
        if not counts:
            raise ValueError(f"testbed {spec.name} has no worker with GPUs")
        return cls(len(counts), min(counts), sum(counts))

    def claim_template(self, devices: DeviceProfile = FAKE_GPU) -> Object:
        return Claim(NODE_GPUS, devices).gpus(self.per_node).template()


def gpu_group(name: str, size: int, replicas: int = 1, readiness_path: str | None = None) -> Object:
    """An LWS of groups of `size` members, each claiming a whole node's GPUs (NODE_GPUS).
    `readiness_path` replaces /health in the readiness probe: a path that never answers 200 makes a
    group that is never Ready, like an engine that never finishes loading."""
    engine = Engine(
        inter_token_latency_ms=5,
        shutdown_timeout_seconds=1,
        termination_grace_period_seconds=2,
        resource_claims=({"name": "gpu", "resourceClaimTemplateName": NODE_GPUS},),
    )
    lws = LeaderWorkerSet(mock_vllm_lws(name, size=size, replicas=replicas, engine=engine))
    if readiness_path:
        lws.readiness_path(readiness_path)
    return lws.obj()


def native_gang(name: str, size: int, api_version: str | None) -> list[Object]:
    """`size` members (plain pods labelled `gang=<name>`, each claiming a node's GPUs) and, with an
    `api_version` of scheduling.k8s.io, the PodGroup that makes them one gang (minCount = size) for
    the kube-scheduler's GangScheduling plugin. Without it: the same pods, scheduled one by one."""
    spec = gpu_group(name, 1)["spec"]["leaderWorkerTemplate"]["workerTemplate"]["spec"]
    objs: list[Object] = []
    if api_version:
        objs.append(
            {
                "apiVersion": api_version,
                "kind": "PodGroup",
                "metadata": {"name": name},
                "spec": {"schedulingPolicy": {"gang": {"minCount": size}}},
            }
        )
    for i in range(size):
        pod_spec = dict(spec, schedulingGroup={"podGroupName": name}) if api_version else dict(spec)
        objs.append(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": f"{name}-{i}", "labels": {"gang": name}},
                "spec": pod_spec,
            }
        )
    return objs
