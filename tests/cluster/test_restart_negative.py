"""Negative controls for the restart checks (suites/test_restart.py): the suite's scenarios
(harness/scenarios/restart.py), each with one change, and the check fails naming why.

- worker killed, node stopped: `restartPolicy: None`: the lost worker is replaced alone, the leader
  keeps its UID, the replacement cannot join the old ring, and the group stays broken;
- leader killed: its workers orphaned (deletion propagation Orphan): the leader is replaced alone and
  its old workers keep their UIDs and their broken ring. (`restartPolicy: None` is no control here:
  the workers' StatefulSet is owned by the leader pod, so LWS recreates the whole group anyway.)
- LeaderReady: `startupPolicy: LeaderCreated`: workers are created before their leader is Ready.

No load runs: the checks judge the group, the suite's load only measures the failed requests.
"""

from __future__ import annotations

import pytest

from harness.checks import CheckFailed
from harness.checks.restart import check_group_recreated, wait_group_formed, workers_after_leader_ready
from harness.cluster.testbed import TestbedCluster
from harness.kube.client import Clients
from harness.kube.namespaces import scratch_namespace
from harness.kube.node_faults import stopped_node
from harness.kube.objects import create
from harness.scenarios import restart as scenarios
from harness.scenarios.restart import NAME, SIZE
from harness.timeouts import GROUP_WHOLE

pytestmark = pytest.mark.restart
BROKEN = 45  # seconds the check waits for a group that will not come back


def test_group_recreated_fails_with_restart_policy_none(kube: Clients, testbed: TestbedCluster, mock_vllm: str) -> None:
    with scenarios.served_groups(kube, testbed.endpoint(), "restart-neg", restart_policy="None") as served:
        before = wait_group_formed(kube, served.namespace, NAME, 1, SIZE, timeout=GROUP_WHOLE)
        scenarios.kill_worker(kube, served.namespace, 1)
        with pytest.raises(CheckFailed, match=rf"pods that kept their UIDs: \['{NAME}-1'\].*leader ring broken"):
            check_group_recreated(kube, served.namespace, NAME, 1, SIZE, before, timeout=BROKEN)


def test_leader_failure_check_fails_when_the_leader_orphans_its_workers(
    kube: Clients, testbed: TestbedCluster, mock_vllm: str
) -> None:
    with scenarios.served_groups(kube, testbed.endpoint(), "restart-neg") as served:
        before = wait_group_formed(kube, served.namespace, NAME, 1, SIZE, timeout=GROUP_WHOLE)
        scenarios.kill_leader(kube, served.namespace, 1, orphan_workers=True)
        with pytest.raises(CheckFailed, match=rf"pods that kept their UIDs: \['{NAME}-1-1'\]"):
            check_group_recreated(kube, served.namespace, NAME, 1, SIZE, before, timeout=BROKEN)


@pytest.mark.disruptive
def test_node_failure_check_fails_with_restart_policy_none(
    kube: Clients, testbed: TestbedCluster, mock_vllm: str
) -> None:
    with scenarios.served_groups(kube, testbed.endpoint(), "restart-neg", restart_policy="None") as served:
        ns = served.namespace
        # A group whose worker's node does not hold its leader: a lost leader takes its workers along
        # (they are owned by it), and LWS would recreate the group whatever its restartPolicy.
        group = next(
            (g for g in (1, 0) if scenarios.worker_node(kube, ns, g) != scenarios.leader_node(kube, ns, g)), None
        )
        if group is not None:
            node = scenarios.worker_node(kube, ns, group)
            before = wait_group_formed(kube, ns, NAME, group, SIZE, timeout=GROUP_WHOLE)
            with stopped_node(testbed, node, kube) as stop:
                scenarios.lose_node(kube, stop)
                # The lost worker is evicted at once (out-of-service taint) and replaced alone elsewhere.
                with pytest.raises(
                    CheckFailed, match=rf"pods that kept their UIDs: \['{NAME}-{group}'\]; .*leader ring broken"
                ):
                    check_group_recreated(kube, ns, NAME, group, SIZE, before, timeout=60, lost_node=node)
    if group is None:
        pytest.skip("every group's leader shares its worker's node: losing it takes the whole group")


def test_workers_after_leader_ready_fails_with_leader_created(kube: Clients, mock_vllm: str) -> None:
    with scratch_namespace(kube.core, "startup-neg") as ns:
        with scenarios.watch_startup(kube, ns, "ordered", 0, seconds=GROUP_WHOLE) as watch:
            create(kube, scenarios.leader_ready_group("ordered", startup_policy="LeaderCreated"), ns)
            wait_group_formed(kube, ns, "ordered", 0, 3, timeout=GROUP_WHOLE)
        with pytest.raises(
            CheckFailed,
            match=r"workers created before leader ordered-0 was Ready: ordered-0-1 \d+\.\d s before, "
            r"ordered-0-2 \d+\.\d s before",
        ):
            workers_after_leader_ready(watch.startup())
