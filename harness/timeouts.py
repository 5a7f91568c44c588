"""Named timeouts, in seconds: how long the harness waits for an outcome before it gives up, one name
per kind of wait (as Kueue's tests share util.Timeout and util.LongTimeout).

Every wait returns at the event it waits for, so these are bounds for a busy 2-core testbed, not
expectations: raising one costs nothing on a passing run, and lowering one below what the slowest
healthy run needs makes a false failure. A window in which a check proves a negative (nothing
happened for so long) is not a timeout: it stays with its check, with why its length suffices.
"""

from __future__ import annotations

# A controller acts on a new object: Kueue evaluates a job, a claim is released, a queue is active.
REACTION = 60
# Controllers created every pod of a workload (LWS's pods, after Kueue's admission where queued).
CREATED = 120
# Pods whose images are on their nodes are Ready (DRA claims allocated and prepared on the way).
POD_READY = 180
# An LWS group forms, or is whole again after a disruption: every member new and Ready, ring formed.
GROUP_WHOLE = 180
# A rolling update replaced every group, one or two at a time.
ROLLOUT = 240
# A node drained: every pod evicted through its budgets and terminated (preStop, engine drain).
DRAIN = 120
# KEDA scaled a target to a replica count: a poll, a scrape, the HPA's sync, the groups' start.
SCALE = 200
# KEDA scaled back down (to one group, or to zero) once the metric fell.
SCALE_DOWN = 150
# Prometheus returns a new series: a scrape interval and its discovery of the pod.
SCRAPED = 90
# Kueue evicted a workload whose pods are not Ready: the testbed's waitForPodsReady and a margin.
EVICTED = 120
# A stopped node is marked NotReady: the testbed's node-monitor grace period (timing) and a margin.
NODE_NOT_READY = 120
# A restarted node is Ready again: the container's start and the kubelet's registration.
NODE_READY = 180
# A namespace's pods and claims are gone after their deletion.
GONE = 120
