"""The accelerators suite's set-ups (suites/test_accelerators.py), shared with its negative controls
(tests/cluster/test_accelerators_negative.py).

Access: on one GPU worker, a pod without a claim, a pod whose first container has a GPU claim and
whose second has none, and two pods with one GPU each; every container runs the probe AI
conformance's secure-access test uses (count the personality's GPU device nodes, `/dev/nvidia[0-9]*`
for NVIDIA's, and print `RESULT: ACCELERATOR_COUNT=N`), plus the accelerator variables it finds. The
control makes the unclaimed pod privileged with the node's /dev mounted.

Metrics: two single-host mock vLLM engines with one GPU each behind the testbed's NodePort; the
GPUs' DCGM series in Prometheus before, under a bounded Locust load (the control sends none) and
after.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any, cast

from fake_gpu import personality as personalities
from fake_gpu import state
from fake_gpu.personality import Personality
from kubernetes import client

from harness.checks.accelerators import FALL, DeviceSeries, Expected, Held, Seen
from harness.dra.claims import Claim
from harness.dra.install import NAMESPACE, PERSONALITY_ANNOTATION, published
from harness.kube.client import Clients
from harness.kube.labels import HOSTNAME_LABEL
from harness.kube.objects import busybox_image, create
from harness.kube.pods import wait_ready
from harness.kube.waits import WaitTimeout, wait_until
from harness.load import LoadResult, LoadSpec, run
from harness.serving.manifests import Engine, leader_service, mock_vllm_deployment
from harness.spec import Testbed
from harness.stack import prometheus

READY = 120  # seconds the probe pods or engines may take to be Ready
ENGINES = 2
ENGINE_CONTAINER = "mock-vllm"
GPU_CLAIM = "engine-gpu"
ENGINE = Engine(
    max_num_seqs=4,
    shutdown_timeout_seconds=5,
    termination_grace_period_seconds=10,
    resource_claims=({"name": "gpu", "resourceClaimTemplateName": GPU_CLAIM},),
)
LOAD_SECONDS = 45
UTIL, FB_USED = "DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_FB_USED"


def installed_personality(kube: Clients) -> Personality:
    """The personality the fake GPU driver runs with (its DaemonSet's annotation)."""
    ds = kube.apps.read_namespaced_daemon_set("fake-gpu", NAMESPACE)
    annotations = ds.spec.template.metadata.annotations or {}
    return personalities.by_name(annotations.get(PERSONALITY_ANNOTATION, personalities.DEFAULT.name))


def gpu_worker(spec: Testbed) -> str:
    """The worker with the most GPUs: the access pods need three of them on one node."""
    workers = [w for w in spec.workers if w.hardware is not None]
    return max(workers, key=lambda w: len(w.hardware.inventory()[0]) if w.hardware else 0).name


def probe_script(p: Personality) -> str:
    names = sorted({p.visible_devices_env, "LLMC_GPUS", state.ENV})
    return "\n".join(
        [
            "n=0",
            f'for f in {p.device_node_glob}; do [ -e "$f" ] || continue; n=$((n+1)); echo "NODE: $f"; done',
            *(f'[ -n "${{{name}+set}}" ] && echo "ENV: {name}=${{{name}}}"' for name in names),
            'echo "RESULT: ACCELERATOR_COUNT=$n"',
            "exec sleep 3600",
        ]
    )


def probe_container(name: str, p: Personality, claim: str | None = None) -> dict[str, Any]:
    resources: dict[str, Any] = {"requests": {"cpu": "5m", "memory": "8Mi"}}
    if claim:
        resources["claims"] = [{"name": claim}]
    return {"name": name, "image": busybox_image(), "command": ["sh", "-c", probe_script(p)], "resources": resources}


def probe_pod(name: str, node: str, containers: list[dict[str, Any]], claims: dict[str, str]) -> dict[str, Any]:
    """`claims`: the pod's claim name -> its ResourceClaim."""
    spec: dict[str, Any] = {
        "terminationGracePeriodSeconds": 1,
        "nodeSelector": {HOSTNAME_LABEL: node},
        "containers": containers,
    }
    if claims:
        spec["resourceClaims"] = [{"name": k, "resourceClaimName": v} for k, v in claims.items()]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


def reaching(pod: dict[str, Any]) -> dict[str, Any]:
    """The pod's containers privileged, with the node's /dev mounted: they reach every device node."""
    pod["spec"]["volumes"] = [{"name": "dev", "hostPath": {"path": "/dev", "type": "Directory"}}]
    for c in pod["spec"]["containers"]:
        c["securityContext"] = {"privileged": True}
        c["volumeMounts"] = [{"name": "dev", "mountPath": "/dev"}]
    return pod


def _claim(kube: Clients, namespace: str, name: str) -> dict[str, Any]:
    api = client.CustomObjectsApi(kube.api)
    return cast(
        dict[str, Any], api.get_namespaced_custom_object("resource.k8s.io", "v1", namespace, "resourceclaims", name)
    )


def expected_for(kube: Clients, namespace: str, claim: str, p: Personality) -> Expected:
    """The device nodes and visible-devices value the claim's GPUs give a container that uses it."""
    results = _claim(kube, namespace, claim)["status"]["allocation"]["devices"]["results"]
    pools = published(kube, p)
    nodes, visible = [], []
    for r in results:
        attributes = pools[r["pool"]][r["device"]]["attributes"]
        nodes.append(p.device_node(attributes["index"]["int"]))
        visible.append(attributes["uuid"]["string"] if p.visible_devices_by_uuid else r["device"])
    return Expected(frozenset(nodes), ",".join(visible), p.visible_devices_env)


def seen(kube: Clients, namespace: str, pod: str, container: str) -> Seen:
    def printed() -> tuple[bool, str]:
        log = kube.core.read_namespaced_pod_log(pod, namespace, container=container)
        return "RESULT: " in log, log[-200:]

    wait_until(printed, 30, f"probe result in {pod}/{container}", interval=1)
    return Seen.from_log(f"{pod}/{container}", kube.core.read_namespaced_pod_log(pod, namespace, container=container))


def access(
    kube: Clients, namespace: str, node: str, p: Personality, reach_devices: bool = False
) -> list[tuple[Seen, Expected]]:
    """Every probe container's view, with what it may see. `reach_devices` (the control): the
    unclaimed pod is privileged with the node's /dev mounted."""
    for name in ("split", "a", "b"):
        create(kube, Claim(f"gpu-{name}").request("gpu", p.gpu_class, 1).obj(), namespace)
    unclaimed = probe_pod("no-claim", node, [probe_container("probe", p)], {})
    pods = [
        reaching(unclaimed) if reach_devices else unclaimed,
        probe_pod(
            "split",
            node,
            [probe_container("holder", p, "gpu"), probe_container("neighbour", p)],
            {"gpu": "gpu-split"},
        ),
        probe_pod("pod-a", node, [probe_container("probe", p, "gpu")], {"gpu": "gpu-a"}),
        probe_pod("pod-b", node, [probe_container("probe", p, "gpu")], {"gpu": "gpu-b"}),
    ]
    for pod in pods:
        kube.core.create_namespaced_pod(namespace, pod)
    wait_ready(kube.core, namespace, [pod["metadata"]["name"] for pod in pods], READY)
    nothing = Expected(visible_env=p.visible_devices_env)
    return [
        (seen(kube, namespace, "no-claim", "probe"), nothing),
        (seen(kube, namespace, "split", "holder"), expected_for(kube, namespace, "gpu-split", p)),
        (seen(kube, namespace, "split", "neighbour"), nothing),
        (seen(kube, namespace, "pod-a", "probe"), expected_for(kube, namespace, "gpu-a", p)),
        (seen(kube, namespace, "pod-b", "probe"), expected_for(kube, namespace, "gpu-b", p)),
    ]


def engines(kube: Clients, spec: Testbed, namespace: str, p: Personality) -> list[Held]:
    """ENGINES mock vLLM engines with a GPU each behind the testbed's NodePort; the GPUs they hold."""
    create(kube, Claim(GPU_CLAIM).request("gpu", p.gpu_class, 1).template(), namespace)
    create(kube, mock_vllm_deployment("engine", ENGINES, ENGINE), namespace)
    create(kube, leader_service("engine-api", {"app": "engine"}, spec.ports[0].node_port), namespace)

    def ready() -> tuple[bool, str]:
        pods = kube.core.list_namespaced_pod(namespace, label_selector="app=engine").items
        ready = [x for x in pods if any(c.type == "Ready" and c.status == "True" for c in x.status.conditions or [])]
        return len(ready) == ENGINES, f"{len(ready)}/{ENGINES} engines Ready"

    wait_until(ready, READY, f"{ENGINES} engines Ready in {namespace}", interval=1)
    pools = published(kube, p)
    held = []
    for pod in kube.core.list_namespaced_pod(namespace, label_selector="app=engine").items:
        claim = (pod.status.resource_claim_statuses or [])[0].resource_claim_name
        for r in _claim(kube, namespace, claim)["status"]["allocation"]["devices"]["results"]:
            uuid = pools[r["pool"]][r["device"]]["attributes"]["uuid"]["string"]
            held.append(Held(r["pool"], r["device"], uuid, pod.metadata.name, namespace, ENGINE_CONTAINER))
    return held


def load(spec: Testbed) -> LoadSpec:
    """Eight streaming users over both engines for LOAD_SECONDS: each engine always has work."""
    return LoadSpec(
        target=f"http://127.0.0.1:{spec.ports[0].host_port}",
        users=8,
        spawn_rate=8,
        duration=LOAD_SECONDS,
        max_requests=5000,
        max_tokens=64,
    )


def _by_uuid(kube: Clients, promql: str) -> dict[str, dict[str, Any]]:
    return {s["metric"]["UUID"]: s for s in prometheus.query(kube, promql)}


def observe(
    kube: Clients, held: list[Held], spec: LoadSpec | None, out: Path
) -> tuple[dict[str, DeviceSeries], LoadResult | None]:
    """The held GPUs' series: before, the peak over a window of the load's length (with the load, or,
    for the control, without), and after, waiting (bounded) for utilisation to fall; and the load's
    result."""
    selector = f'{{UUID=~"{"|".join(h.uuid for h in held)}"}}'
    series: dict[str, DeviceSeries] = {h.uuid: DeviceSeries() for h in held}

    def reported() -> tuple[bool, str]:
        util, memory = _by_uuid(kube, UTIL + selector), _by_uuid(kube, FB_USED + selector)
        held_now = {u for u, s in util.items() if "pod" in s["metric"]}
        for uuid, s in util.items():
            series[uuid].labels = s["metric"]
            series[uuid].util_before = float(s["value"][1])
        for uuid, s in memory.items():
            series[uuid].memory_used_mib = float(s["value"][1])
        missing = sorted(set(series) - held_now)
        return not missing, f"no holder-labelled utilisation for {missing}" if missing else "every GPU reported"

    # On a timeout too the check judges what Prometheus had, naming each GPU without a holder's series.
    with contextlib.suppress(WaitTimeout):
        wait_until(reported, 90, "every held GPU's metrics in Prometheus", interval=2)
    started = time.monotonic()
    result = None
    if spec is not None:
        result = run(spec, out)
    else:
        time.sleep(LOAD_SECONDS)  # the idle control: the same window, no requests
    window = int(time.monotonic() - started) + 1
    for uuid, s in _by_uuid(kube, f"max_over_time({UTIL}{selector}[{window}s])").items():
        series[uuid].util_peak = float(s["value"][1])
    for uuid, s in _by_uuid(kube, f"max_over_time({FB_USED}{selector}[{window}s])").items():
        series[uuid].memory_used_mib = float(s["value"][1])

    def fallen() -> tuple[bool, str]:
        for uuid, s in _by_uuid(kube, UTIL + selector).items():
            series[uuid].util_after = float(s["value"][1])
        high = {u: s.util_after for u, s in series.items() if s.util_after is None or s.util_after > FALL}
        return not high, f"utilisation still above {FALL:g} %: {high}"

    with contextlib.suppress(WaitTimeout):  # as above: the check names the GPUs that stayed busy
        wait_until(fallen, 60, "GPU utilisation back down", interval=2)
    return series, result
