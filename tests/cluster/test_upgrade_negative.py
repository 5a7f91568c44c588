"""Negative controls for the upgrade checks: on a setup where the claim is false, each check fails.

Runs on the same real testbed and stack as suites/test_upgrade.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.checks import CheckFailed, upgrade
from harness.checks.upgrade import (
    GRACEFUL,
    SIZE,
    WORKER_PRE_STOP,
    lightest_node,
    load_spec,
    new_template_env,
    pod_budget,
    serving_groups,
    spread_groups,
    wait_traffic,
)
from harness.cluster.testbed import TestbedCluster
from harness.kube import drain
from harness.kube.client import Clients
from harness.kube.namespaces import scratch_namespace
from harness.load import background
from harness.workloads import inference
from harness.workloads.manifests import Engine

pytestmark = [pytest.mark.upgrade, pytest.mark.disruptive]
# Kubernetes' default grace period would do as well, with streams longer than it; a short one keeps
# the control quick: streams of 15 s, killed 2 s after SIGTERM, with no preStop to leave the Service first.
ABRUPT = Engine(inter_token_latency_ms=50, shutdown_timeout_seconds=30, termination_grace_period_seconds=2)
LONG_STREAM_TOKENS = 300


@pytest.fixture
def namespace(kube: Clients, mock_vllm: str) -> Iterator[str]:
    with scratch_namespace(kube.core, "upgrade-neg") as ns:
        yield ns


def test_drain_check_fails_with_a_short_grace_period_and_no_pre_stop(
    kube: Clients, testbed: TestbedCluster, namespace: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    count = serving_groups(testbed)
    svc = inference.deploy(
        kube,
        namespace,
        inference.inference_lws("infer", SIZE, count, ABRUPT, node_per_group=True),
        testbed.spec.ports[0].node_port,
    )
    inference.wait_whole(kube, svc, count)
    node = lightest_node(kube, svc)
    out = tmp_path_factory.mktemp("abrupt-drain")
    # Each user keeps one connection, balanced to a group at random: with this many, the chance that
    # none has a stream on the drained group is negligible ((2/3)**24 with three groups).
    # A stream cut by the kill can hang silently (the pod's network goes with it, no reset reaches the
    # client): a short request timeout turns it into a recorded failure, and the load runs to its end
    # instead of being stopped right after the drain, which would drop such streams unrecorded.
    spec = load_spec(testbed, duration=60, tokens=LONG_STREAM_TOKENS, users=24, request_timeout=25)
    with background(spec, out) as load:
        wait_traffic(out, requests=1)
        with drain.cordoned(kube.core, node):
            load.mark(f"drain {node}")
            drain.drain(kube.core, namespace, node, timeout=60)
        load.wait(timeout=spec.duration + 60)
    with pytest.raises(CheckFailed, match=rf"drain of {node}: [1-9]\d* of \d+ requests failed"):
        upgrade.no_request_lost(load.result(), out, f"drain of {node}")


def test_rollout_check_fails_when_max_unavailable_covers_every_group(
    kube: Clients, testbed: TestbedCluster, namespace: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    count = serving_groups(testbed)
    lws = inference.inference_lws(
        "infer", SIZE, count, GRACEFUL, worker_pre_stop_seconds=WORKER_PRE_STOP, max_unavailable=count, max_surge=0
    )
    svc = inference.deploy(kube, namespace, lws, testbed.spec.ports[0].node_port)
    inference.wait_whole(kube, svc, count)
    old = inference.revision(kube, svc)
    with svc.observe(kube) as timeline:
        inference.patch_lws(kube, svc, new_template_env("LLMC_RELEASE", "2", lws))
        new = inference.wait_rolled(kube, svc, count, old, timeout=180)
    with pytest.raises(CheckFailed, match=rf"{count} of {count} groups unavailable at once .* allowed 1"):
        upgrade.rolled_by_whole_groups(timeline, count, max_unavailable=1, max_surge=0, new_revision=new)


def test_group_drain_check_fails_for_a_plain_drain_under_a_pod_level_budget(
    kube: Clients, testbed: TestbedCluster, namespace: str
) -> None:
    # The budget allows one group's worth of pods; it cannot tell that they belong to two groups.
    svc, node = spread_groups(kube, testbed, namespace)
    count = len(testbed.spec.workers)
    inference.create(kube, pod_budget(svc, max_unavailable=SIZE), namespace)
    with svc.observe(kube) as timeline, drain.cordoned(kube.core, node):
        drain.drain(kube.core, namespace, node, timeout=120)
        inference.wait_whole(kube, svc, count, timeout=180)
    with pytest.raises(CheckFailed, match=rf"[2-9] of {count} groups unavailable at once .* allowed 1"):
        upgrade.groups_broken_at_most(timeline, 1, count, f"drain of {node} under a pod-level PodDisruptionBudget")
