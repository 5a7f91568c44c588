"""Negative controls for the component checks: on the suite's set-up (suites/test_components.py,
harness/scenarios/components.py) with one thing changed, each check fails for that reason."""

from __future__ import annotations

import pytest

from harness.builders import core as builders
from harness.builders.lws import LeaderWorkerSet
from harness.checks import CheckFailed, components, operators, service_metrics
from harness.cluster.testbed import TestbedCluster
from harness.kube.client import Clients
from harness.kube.namespaces import scratch_namespace
from harness.kube.objects import create
from harness.scenarios import components as scenarios
from harness.scenarios.components import ADMISSION_TIMEOUT, kueue_queue, lws_groups, pinned_controllers, scaling_rig
from harness.stack import StackFigures

pytestmark = pytest.mark.components


def test_lws_check_fails_on_groups_of_the_wrong_size(kube: Clients, stack: StackFigures) -> None:
    with scratch_namespace(kube.core, "lws-neg") as ns:
        create(kube, LeaderWorkerSet.sleepers("infer", groups=2, size=2).obj(), ns)
        with pytest.raises(CheckFailed, match=r"pod names .* expected .*infer-0-2"):
            components.lws_groups_formed(kube, ns, "infer", groups=2, size=3, timeout=60)


def test_admission_check_fails_when_the_quota_is_too_small(kube: Clients, stack: StackFigures) -> None:
    with kueue_queue(kube, cpu="100m") as (ns, queue):
        create(kube, builders.queued_job("fits-nowhere", queue, cpu="200m"), ns)
        with pytest.raises(CheckFailed, match=r"Kueue admits job .*suspended=True"):
            components.job_admitted(kube, ns, "fits-nowhere", timeout=15)


def test_hold_check_fails_when_the_quota_admits_the_job(kube: Clients, stack: StackFigures) -> None:
    with kueue_queue(kube, cpu="4") as (ns, queue):
        create(kube, builders.queued_job("fits", queue, cpu="200m"), ns)
        with pytest.raises(CheckFailed, match="Kueue admitted job"):
            components.job_held(kube, ns, "fits", hold=20)


def test_scale_check_fails_when_the_metric_never_crosses_the_threshold(kube: Clients, stack: StackFigures) -> None:
    with scratch_namespace(kube.core, "keda-neg") as ns:
        rig = scaling_rig(kube, ns, threshold=5, min_replicas=1, max_replicas=3)
        rig.set_metric(kube, 3)  # below one replica's worth: KEDA keeps 1
        with pytest.raises(CheckFailed, match=r"scales .* to 3.*desired 1"):
            components.scaled_to(kube, ns, rig.target, 3, timeout=45)


def test_scrape_check_fails_for_a_pod_that_does_not_ask_to_be_scraped(kube: Clients, stack: StackFigures) -> None:
    with scratch_namespace(kube.core, "prom-neg") as ns:
        create(kube, builders.metric_exporter("exporter", "llmc_probe_value", 42, scrape=False), ns)
        with pytest.raises(CheckFailed, match=rf"no active scrape target in namespace {ns}; active scrape targets"):
            components.series_scraped(kube, f'llmc_probe_value{{namespace="{ns}"}}', timeout=20, namespace=ns)


def test_pinned_versions_check_fails_when_the_pins_move_on(
    kube: Clients, stack: StackFigures, testbed: TestbedCluster
) -> None:
    """The suite's comparison with LWS pinned at another version than the cluster runs."""
    expected = pinned_controllers(stack, testbed.supply.mode, repinned="lws")
    with pytest.raises(CheckFailed, match=r"lws-system/\S+ \(lws\) runs \['.*'\], pinned \['.*:v0\.0\.0-repinned'\]"):
        components.controllers_run_pinned_images(kube, expected)


def test_lws_admission_check_fails_without_the_queue_label(kube: Clients, stack: StackFigures) -> None:
    """The suite's LWS without the queue-name label: Kueue's LWS integration makes no Workload."""
    with kueue_queue(kube, cpu="2") as (ns, _):
        create(kube, lws_groups("queued", groups=2, size=2), ns)
        with pytest.raises(CheckFailed, match=r"2 Kueue workloads admitted .*not reached .*workloads none"):
            components.workloads_admitted(kube, ns, count=2, timeout=ADMISSION_TIMEOUT)


@pytest.mark.parametrize("name", ["lws", "kueue"])
def test_operator_check_fails_without_the_validating_webhook(kube: Clients, stack: StackFigures, name: str) -> None:
    """The suite's operator check with the operator's ValidatingWebhookConfigurations removed for the
    test (restored afterwards): the invalid object is accepted."""
    with (
        scenarios.operator(kube, name) as (op, namespace),
        scenarios.validating_webhooks_removed(kube, op, namespace) as removed,
    ):
        assert removed, f"{name} has no validating webhook configuration to remove"
        kind = op.invalid["kind"]
        with pytest.raises(CheckFailed, match=rf"{name}: invalid {kind} \S+ was accepted: no admission webhook"):
            operators.operator_works(kube, op, namespace)


def test_service_metrics_check_fails_for_groups_nobody_scrapes(
    kube: Clients, stack: StackFigures, mock_vllm: str
) -> None:
    """The suite's inference groups without the scrape annotations: their requests are not counted."""
    with scratch_namespace(kube.core, "service-metrics-neg") as ns:
        svc = scenarios.inference_groups(kube, ns, scraped=False)
        sent = service_metrics.send_completions(
            kube, ns, scenarios.leaders(svc), scenarios.SERVICE_REQUESTS, scenarios.SERVICE_ENGINE.model
        )
        with pytest.raises(CheckFailed, match=r"group infer-0: answered 5, Prometheus has no .*are no scrape target"):
            service_metrics.requests_counted(kube, ns, svc.lws, sent, timeout=30)
