"""Components: the orchestration stack is installed at the pinned versions and each controller does
its job on the real cluster — LWS forms groups, Kueue admits and holds, KEDA scales both ways,
Prometheus scrapes; LWS and Kueue work as operators (webhooks refuse, controllers reconcile), and
Prometheus counts every request the inference groups answer (AI Conformance robust_controller and
ai_service_metrics)."""

from __future__ import annotations

import pytest

from harness.builders import core as builders
from harness.builders.lws import LeaderWorkerSet
from harness.checks import components, operators, service_metrics
from harness.cluster.existing import ExistingCluster
from harness.cluster.testbed import TestbedCluster
from harness.kube.client import Clients
from harness.kube.namespaces import scratch_namespace
from harness.kube.objects import create
from harness.report.record import CheckRecord
from harness.scenarios import components as scenarios
from harness.scenarios.components import ADMISSION_TIMEOUT, kueue_queue, lws_groups, pinned_controllers, scaling_rig
from harness.stack import StackFigures
from harness.stack.require import requires
from harness.timeouts import SCRAPED

pytestmark = pytest.mark.components


def test_stack_installed_at_pinned_versions(
    kube: Clients, stack: StackFigures, testbed: TestbedCluster | ExistingCluster, record: CheckRecord
) -> None:
    """LWS, Kueue, KEDA and Prometheus run the pinned images and are Available."""
    expected = pinned_controllers(stack, testbed.supply.mode)
    record.figure("controllers_expected", len(expected), "deployments")
    for line in components.controllers_run_pinned_images(kube, expected):
        record.evidence(line)


def test_lws_groups_have_names_labels_and_env(kube: Clients, stack: StackFigures, record: CheckRecord) -> None:
    """LWS makes whole groups with the documented names, labels and LWS_* env."""
    requires(stack, "lws")
    with scratch_namespace(kube.core, "lws") as ns:
        create(kube, LeaderWorkerSet.sleepers("infer", groups=2, size=3).obj(), ns)
        with record.step("2 groups of 3 formed, names, labels and env as documented", kind="wait"):
            components.lws_groups_formed(kube, ns, "infer", groups=2, size=3)


def test_kueue_admits_what_fits_and_holds_what_exceeds_the_quota(
    kube: Clients, stack: StackFigures, record: CheckRecord
) -> None:
    """Kueue admits a job within the quota and holds one over it."""
    requires(stack, "kueue")
    with kueue_queue(kube, cpu="1") as (ns, queue):
        create(kube, builders.queued_job("fits", queue, cpu="200m"), ns)
        create(kube, builders.queued_job("too-big", queue, cpu="2"), ns)
        with record.step("job within the quota admitted", kind="wait"):
            components.job_admitted(kube, ns, "fits")
        with record.step("job over the quota held", kind="observe"):
            reason = components.job_held(kube, ns, "too-big")
        assert "insufficient quota" in reason, reason


def test_kueue_admits_lws_groups_through_its_lws_integration(
    kube: Clients, stack: StackFigures, record: CheckRecord
) -> None:
    """Kueue admits LWS groups through its LeaderWorkerSet integration."""
    requires(stack, "kueue", "lws")
    with kueue_queue(kube, cpu="2") as (ns, queue):
        create(kube, lws_groups("queued", groups=2, size=2, queue=queue), ns)
        with record.step("a Workload per group admitted", kind="wait"):
            components.workloads_admitted(kube, ns, count=2, timeout=ADMISSION_TIMEOUT)
        with record.step("2 groups of 2 formed", kind="wait"):
            components.lws_groups_formed(kube, ns, "queued", groups=2, size=2)


def test_keda_scales_a_target_up_on_a_metric_and_back(kube: Clients, stack: StackFigures, record: CheckRecord) -> None:
    """KEDA scales a target up on a Prometheus metric and back down."""
    requires(stack, "keda")
    with scratch_namespace(kube.core, "keda") as ns:
        with record.step("exporter, target and ScaledObject; the metric scraped"):
            rig = scaling_rig(kube, ns, threshold=5, min_replicas=1, max_replicas=3)
        rig.set_metric(kube, 15)  # 15 / 5 per replica: 3 replicas
        with record.step("metric 15: scaled up to 3", kind="observe"):
            record.figure("scale_up", components.scaled_to(kube, ns, rig.target, 3), "s", "1 → 3 replicas")
        rig.set_metric(kube, 0)
        with record.step("metric 0: scaled down to 1", kind="observe"):
            record.figure("scale_down", components.scaled_to(kube, ns, rig.target, 1), "s", "3 → 1 replica")


def test_prometheus_returns_a_scraped_series(kube: Clients, stack: StackFigures, record: CheckRecord) -> None:
    """Prometheus scrapes an annotated pod and returns its series."""
    requires(stack, "prometheus")
    with scratch_namespace(kube.core, "prom") as ns:
        create(kube, builders.metric_exporter("exporter", "llmc_probe_value", 42), ns)
        with record.step("the exporter's series scraped", kind="wait"):
            query = f'llmc_probe_value{{namespace="{ns}"}}'
            series = components.series_scraped(kube, query, timeout=SCRAPED, namespace=ns)
        assert series[0]["value"][1] == "42", series


@pytest.mark.parametrize("name", ["lws", "kueue"])
def test_operator_refuses_an_invalid_object_and_reconciles_a_valid_one(
    kube: Clients, stack: StackFigures, record: CheckRecord, name: str
) -> None:
    """An operator works: controllers and CRDs up, its webhook refuses an invalid object, a valid one reconciles"""
    requires(stack, name)
    with scenarios.operator(kube, name) as (op, namespace):
        evidence, seconds = operators.operator_works(kube, op, namespace)
    record.figure("reconcile_seconds", seconds, "s")
    for line in evidence:
        record.evidence(line)


def test_inference_groups_metrics_count_every_request(
    kube: Clients, stack: StackFigures, mock_vllm: str, record: CheckRecord
) -> None:
    """Prometheus scrapes the inference groups: after N requests, vllm:request_success_total summed over them is N"""
    requires(stack, "lws", "prometheus")
    with scratch_namespace(kube.core, "service-metrics") as ns:
        svc = scenarios.inference_groups(kube, ns)
        sent = service_metrics.send_completions(
            kube, ns, scenarios.leaders(svc), scenarios.SERVICE_REQUESTS, scenarios.SERVICE_ENGINE.model
        )
        record.figure("requests_sent", sum(sent.values()), "requests")
        record.evidence(service_metrics.requests_counted(kube, ns, svc.lws, sent))
