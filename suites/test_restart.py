"""Group restarts: a mock vLLM group (LWS defaults: RecreateGroupOnPodRestart) that loses a worker,
its leader or a node is recreated whole, every pod new, and forms a new ring; with
`startupPolicy: LeaderReady` workers start only after their leader is Ready; LWS names, labels and
env are as documented. Requests fail while the ring is broken: Locust load measures how many.

Negative controls: tests/cluster/test_restart_negative.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest

from harness.checks.components import lws_groups_formed
from harness.checks.restart import check_group_recreated, group_members, wait_group_formed, workers_after_leader_ready
from harness.cluster.testbed import TestbedCluster
from harness.kube.client import Clients
from harness.kube.namespaces import scratch_namespace
from harness.kube.node_faults import stopped_node
from harness.kube.objects import create
from harness.load import LoadResult, LoadSpec, background
from harness.report.record import CheckRecord
from harness.scenarios import restart as scenarios
from harness.scenarios.restart import GROUPS, NAME, SIZE, Served
from harness.serving.observe import serves
from harness.timeouts import GROUP_WHOLE

pytestmark = pytest.mark.restart
# target: the testbed's port, per run. A 16-token stream takes under a second: one silent for 30 s
# went to a dead member, and counts as failed (and stopping the load waits at most that long).
LOAD = LoadSpec(target="", users=4, duration=120, max_tokens=16, request_timeout=30)


@pytest.fixture(scope="module")
def served(kube: Clients, testbed: TestbedCluster, mock_vllm: str) -> Iterator[Served]:
    """GROUPS groups of SIZE behind a NodePort Service on the testbed's first port, formed."""
    with scenarios.served_groups(kube, testbed.endpoint(), "restart") as served:
        yield served


def failed_during(result: LoadResult, start: str, end: str) -> int:
    marks = {m.label: m.second for m in result.marks}
    return result.failures_between(int(marks[start]), int(marks[end]) + 1)


def restart_under_load(
    kube: Clients,
    served: Served,
    record: CheckRecord,
    what: str,
    disrupt: Callable[[], str | None],
    group: int = 1,
) -> None:
    """Run `disrupt()` under load (it loses part of `group` and returns the node it lost, if any), check
    that the group comes back whole as a new group, and record the restart seconds and the requests
    that failed meanwhile."""
    ns = served.namespace
    with record.step(f"group {group} formed", kind="wait"):
        before = wait_group_formed(kube, ns, NAME, group, SIZE, timeout=GROUP_WHOLE)
    out = record.load_dir(what.replace(" ", "_"))
    with background(replace(LOAD, target=f"http://127.0.0.1:{served.host_port}"), out) as load:
        with record.step("load flowing", kind="wait"):
            serves(served.host_port, requests=1)
        load.mark(what)
        disrupted = time.time()
        lost_node = disrupt()  # a pod deletion, or a node stopped (its own step: waiting for NotReady)
        with record.step(f"group {group} recreated whole, new ring", kind="observe"):
            seconds, after = check_group_recreated(kube, ns, NAME, group, SIZE, before, GROUP_WHOLE, lost_node)
        load.mark("group whole again")
        recovered = time.time() - disrupted
        with record.step("serving again", kind="observe"):
            serves(served.host_port, requests=3)
    result = load.result()
    record.load(result, out)
    # When each new member was created, next to the disruption's load mark: where the restart's
    # seconds went (LWS's reaction, the old members' deletion, the new ones' start).
    for pod in group_members(kube, ns, NAME, group):
        record.event(f"{pod.metadata.name} created", pod.metadata.creation_timestamp.timestamp())
    failed = failed_during(result, what, "group whole again")
    record.figure("recovery", recovered, "s", note=f"{what} -> every member new and Ready, new ring")
    if lost_node:
        record.figure("group_restart", seconds, "s", note="node marked out-of-service -> group whole, new ring")
    else:
        record.figure("group_restart", seconds, "s", note=f"{what} -> every member new and Ready, new ring")
    record.figure("requests_failed_during_restart", failed, "requests", note=f"of {result.requests} in the run")
    record.evidence(f"group {before.name} before: {before.line()}, ring {before.ring_id}")
    record.evidence(f"group {before.name} after: {after.line()}, ring {after.ring_id}; all pod UIDs new")


def test_lws_naming_labels_and_env_are_as_documented(kube: Clients, served: Served, record: CheckRecord) -> None:
    """LWS names, labels and env are as documented (<lws>-<g>, <lws>-<g>-<w>, indexes, LWS_*)"""
    lws_groups_formed(kube, served.namespace, NAME, GROUPS, SIZE)
    record.evidence(f"{GROUPS} groups of {SIZE}: names, name/group/worker labels and LWS_* env as documented")


@pytest.mark.disruptive
def test_killing_a_worker_recreates_the_whole_group(kube: Clients, served: Served, record: CheckRecord) -> None:
    """Killing one worker recreates the whole group (all pod UIDs change) and the ring re-forms"""
    restart_under_load(kube, served, record, "worker killed", lambda: scenarios.kill_worker(kube, served.namespace, 1))


@pytest.mark.disruptive
def test_leader_failure_recovers_to_a_full_group(kube: Clients, served: Served, record: CheckRecord) -> None:
    """Leader failure recovers to a full group with a new ring"""
    restart_under_load(kube, served, record, "leader killed", lambda: scenarios.kill_leader(kube, served.namespace, 1))


@pytest.mark.disruptive
def test_node_failure_recovers_to_a_full_group_elsewhere(
    kube: Clients, testbed: TestbedCluster, served: Served, record: CheckRecord
) -> None:
    """Node failure (kind node stopped) recovers to a full group on other nodes"""
    group = 1
    node = scenarios.worker_node(kube, served.namespace, group)
    with stopped_node(testbed, node, kube) as stop:

        def stop_node() -> str:
            with record.step(f"{node} stopped until NotReady, then out-of-service", kind="wait"):
                not_ready = scenarios.lose_node(kube, stop)
            grace = f"node-monitor grace period {testbed.spec.timing.node_monitor_grace_period} s"
            record.figure("node_not_ready_after", not_ready, "s", note=f"{node}; {grace}")
            record.event("node marked out-of-service", time.time())
            return node

        restart_under_load(kube, served, record, "node stopped", stop_node, group=group)
    record.evidence(f"node {node} stopped, marked out-of-service, restarted and Ready again afterwards")


def test_leader_ready_starts_workers_after_the_leader_is_ready(
    kube: Clients, mock_vllm: str, record: CheckRecord
) -> None:
    """startupPolicy LeaderReady: workers are created only after the leader is Ready"""
    with scratch_namespace(kube.core, "startup") as ns:
        with scenarios.watch_startup(kube, ns, "ordered", 0, seconds=GROUP_WHOLE) as watch:
            create(kube, scenarios.leader_ready_group("ordered", startup_policy="LeaderReady"), ns)
            with record.step("group formed, its pods watched", kind="observe"):
                wait_group_formed(kube, ns, "ordered", 0, 3, timeout=GROUP_WHOLE)
        startup = watch.startup()
        after = workers_after_leader_ready(startup)
        if startup.leader_ready:
            record.event(f"{startup.leader} Ready", startup.leader_ready.at)
        for name, seen in sorted(startup.workers_added.items()):
            record.event(f"{name} created", seen.at)
        record.figure("last_worker_after_leader_ready", after, "s", note="pod watch, local receive times")
