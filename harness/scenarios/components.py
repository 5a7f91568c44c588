"""The components suite's set-ups (suites/test_components.py), shared with its negative controls
(tests/cluster/test_components_negative.py)."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from harness import timeouts
from harness.builders import core as builders
from harness.builders.kueue import ClusterQueue, LocalQueue, ResourceFlavor
from harness.builders.lws import LeaderWorkerSet
from harness.checks import operators
from harness.checks.components import series_scraped
from harness.checks.operators import Operator, conditions
from harness.kube.client import Clients
from harness.kube.labels import KUEUE_API, LWS_API
from harness.kube.namespaces import scratch_namespace
from harness.kube.objects import Object, cluster_objects, create, delete_object
from harness.kube.pods import run_in, wait_ready
from harness.kube.waits import wait_until
from harness.serving import inference
from harness.serving.inference import Service
from harness.serving.manifests import Engine, mock_vllm_lws
from harness.stack import StackFigures, kueue, lws
from harness.stack import components as stack_components
from harness.stack.controllers import Controller, expected_controllers
from harness.supply import Mode


def pinned_controllers(stack: StackFigures, mode: Mode, repinned: str | None = None) -> list[Controller]:
    """The controllers of every installed stack component, with their pinned images; `repinned`
    (the control) moves that component's pins to another version, as if the versions file had moved
    on and the cluster had not."""
    installed = [c for c in stack_components() if c.name not in stack.absent]
    expected = expected_controllers(installed, mode)
    if repinned is None:
        return expected
    return [
        dataclasses.replace(c, images=tuple(f"{i.rsplit(':', 1)[0]}:v0.0.0-repinned" for i in c.images))
        if c.component == repinned
        else c
        for c in expected
    ]


# Kueue makes one Workload per LWS group within seconds: the admission check's bound, suite and control.
ADMISSION_TIMEOUT = 45


def lws_groups(name: str, groups: int, size: int, queue: str | None = None) -> Object:
    """Sleeping LWS groups; with `queue`, labelled for Kueue's LeaderWorkerSet integration (the
    admission control leaves the label out)."""
    lws = LeaderWorkerSet.sleepers(name, groups=groups, size=size)
    if queue is not None:
        lws.queue(queue)
    return lws.obj()


@contextmanager
def kueue_queue(kube: Clients, cpu: str) -> Iterator[tuple[str, str]]:
    """A ResourceFlavor, a ClusterQueue with `cpu` nominal quota, and a scratch namespace with a
    LocalQueue pointing at it; yields (namespace, local queue). Removed afterwards."""
    suffix = secrets.token_hex(3)
    flavor, cq = f"llmc-flavor-{suffix}", f"llmc-cq-{suffix}"
    with (
        cluster_objects(kube, [ResourceFlavor(flavor).obj(), ClusterQueue(cq).flavor(flavor).quota(cpu, "1Gi").obj()]),
        scratch_namespace(kube.core, "kueue") as ns,
    ):
        create(kube, LocalQueue("queue", cq).obj(), ns)
        yield ns, "queue"


@dataclass
class ScalingRig:
    """A metric exporter Prometheus scrapes and a Deployment KEDA scales on it."""

    namespace: str
    exporter: str
    target: str
    metric: str

    def set_metric(self, kube: Clients, value: float) -> None:
        code, out = run_in(kube.core, self.namespace, self.exporter, builders.set_metric_command(self.metric, value))
        if code != 0:
            raise RuntimeError(f"setting {self.metric} in {self.exporter} failed ({code}): {out}")


def scaling_rig(kube: Clients, namespace: str, threshold: float, min_replicas: int, max_replicas: int) -> ScalingRig:
    rig = ScalingRig(namespace, "exporter", "target", "llmc_queue_length")
    create(kube, builders.metric_exporter(rig.exporter, rig.metric, 0), namespace)
    create(kube, builders.sleeper_deployment(rig.target, replicas=min_replicas), namespace)
    wait_ready(kube.core, namespace, [rig.exporter], timeout=timeouts.POD_READY)
    query = f'sum({rig.metric}{{namespace="{namespace}"}})'
    series_scraped(kube, query, timeout=timeouts.SCRAPED)  # KEDA sees a value before the check starts
    so = builders.scaled_object("target", rig.target, query, threshold, min_replicas, max_replicas)
    create(kube, so, namespace)
    return rig


# --- robust controller: an operator's objects, and its validating webhook removed (the control) ------


def lws_operator() -> Operator:
    """LWS: a group with maxUnavailable and maxSurge both 0 passes the CRD schema; LWS's webhook refuses it."""
    invalid = LeaderWorkerSet.sleepers("invalid", groups=1, size=2).rollout(max_unavailable=0, max_surge=0).obj()

    def reconciled(obj: Object) -> tuple[bool, str]:
        ready, state = obj.get("status", {}).get("readyReplicas", 0), conditions(obj)
        return ready == 1 and state.get("Available") == "True", f"readyReplicas {ready}, conditions {state}"

    return Operator(
        name="lws",
        namespace=lws.NAMESPACE,
        group=LWS_API.split("/")[0],
        invalid=invalid,
        refusal="must not be 0 when `maxSurge` is 0",
        valid=LeaderWorkerSet.sleepers("valid", groups=1, size=2).obj(),
        reconciled=reconciled,
    )


def kueue_operator(flavor: str, suffix: str) -> Operator:
    """Kueue: a ClusterQueue with a negative quota passes the CRD schema; Kueue's webhook refuses it.
    The valid one becomes Active once Kueue has reconciled it with its ResourceFlavor."""

    def reconciled(obj: Object) -> tuple[bool, str]:
        state = conditions(obj)
        return state.get("Active") == "True", f"conditions {state}"

    return Operator(
        name="kueue",
        namespace=kueue.NAMESPACE,
        group=KUEUE_API.split("/")[0],
        invalid=ClusterQueue(f"llmc-invalid-{suffix}").flavor(flavor).quota(cpu="-1", memory="1Gi").obj(),
        refusal="must be greater than or equal to 0",
        valid=ClusterQueue(f"llmc-valid-{suffix}").flavor(flavor).quota(cpu="1", memory="1Gi").obj(),
        reconciled=reconciled,
    )


@contextmanager
def operator(kube: Clients, name: str) -> Iterator[tuple[Operator, str | None]]:
    """The operator `name` (lws, kueue) with what its objects need: a scratch namespace for LWS's, a
    ResourceFlavor for Kueue's cluster-scoped ClusterQueues (removed afterwards, as they are)."""
    if name == "lws":
        with scratch_namespace(kube.core, "operator") as ns:
            yield lws_operator(), ns
        return
    suffix = secrets.token_hex(3)
    flavor = f"llmc-flavor-{suffix}"
    op = kueue_operator(flavor, suffix)
    with cluster_objects(kube, [ResourceFlavor(flavor).obj()]):
        try:
            yield op, None
        finally:
            for obj in (op.valid, op.invalid):
                delete_object(kube, obj)


# The API server picks up webhook configuration changes from its informer: seconds, bounded here.
WEBHOOK_CACHE_TIMEOUT = 60


@contextmanager
def validating_webhooks_removed(kube: Clients, op: Operator, namespace: str | None) -> Iterator[list[str]]:
    """The operator's ValidatingWebhookConfigurations deleted for the block (the control's one change),
    then restored as they were; both waits bounded: until the API server accepts the invalid object
    (dry run), and afterwards until its webhook refuses it again."""
    api = client.AdmissionregistrationV1Api(kube.api)
    names = operators.validating_webhooks(kube, op.namespace)
    saved = [api.read_validating_webhook_configuration(n) for n in names]
    try:
        for n in names:
            api.delete_validating_webhook_configuration(n)
        wait_until(
            lambda: _refusal_state(kube, op, namespace, refused=False),
            WEBHOOK_CACHE_TIMEOUT,
            f"the API server admits {op.name}'s invalid object without its webhook",
        )
        yield names
    finally:
        failed = []
        for config in saved:  # every one tried, whatever happens to the others
            meta = config.metadata
            config.metadata = client.V1ObjectMeta(name=meta.name, labels=meta.labels, annotations=meta.annotations)
            try:
                api.create_validating_webhook_configuration(config)
            except ApiException as e:
                if e.status != 409:  # 409: already back, nothing to restore
                    failed.append(f"{meta.name}: {e.status} {e.reason}")
        if failed:
            raise RuntimeError(f"could not restore {op.name}'s validating webhook configurations: {failed}")
        wait_until(
            lambda: _refusal_state(kube, op, namespace, refused=True),
            WEBHOOK_CACHE_TIMEOUT,
            f"{op.name}'s validating webhook refuses its invalid object again",
        )


def _refusal_state(kube: Clients, op: Operator, namespace: str | None, refused: bool) -> tuple[bool, str]:
    answer = operators.refused(kube, op.invalid, namespace, dry_run=True)
    by_webhook = answer is not None and operators.WEBHOOK_DENIED in answer
    return by_webhook == refused, f"dry run: {answer or 'accepted'}"


# --- AI service metrics: mock vLLM groups, scraped by the testbed's Prometheus or not (the control) ---

SERVICE_GROUPS = 2
SERVICE_GROUP_SIZE = 2
SERVICE_REQUESTS = 10  # split evenly over the groups' leaders
SERVICE_ENGINE = Engine(time_to_first_token_ms=10, inter_token_latency_ms=5)


def inference_groups(kube: Clients, namespace: str, scraped: bool = True) -> Service:
    """Mock vLLM groups whose every member Prometheus scrapes (the annotations inference_lws sets), or
    the same groups without them; waits until every group is whole and serving."""
    groups = (
        inference.inference_lws("infer", SERVICE_GROUP_SIZE, SERVICE_GROUPS, SERVICE_ENGINE)
        if scraped
        else mock_vllm_lws("infer", SERVICE_GROUP_SIZE, SERVICE_GROUPS, SERVICE_ENGINE)
    )
    svc = inference.deploy(kube, namespace, groups, node_port=None)
    inference.wait_whole(kube, svc, SERVICE_GROUPS)
    return svc


def leaders(svc: Service) -> list[str]:
    return [f"{svc.lws}-{g}" for g in range(SERVICE_GROUPS)]
