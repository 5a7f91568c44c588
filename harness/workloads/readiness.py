"""Readiness variants of a mock vLLM LeaderWorkerSet, for checks about when members count as Ready.

Mock vLLM's own probe (/health) makes the leader Ready only once every worker joined its ring, which
would deadlock `startupPolicy: LeaderReady` (workers wait for a leader that waits for them). A leader
that is Ready once it listens, after a warm-up, is what LeaderReady is for: a head process that must
be up before its workers start."""

from __future__ import annotations

import copy

from harness.kube.objects import Object
from harness.workloads.manifests import PORT


def ready_when_listening(lws: Object, warm_up_seconds: int) -> Object:
    """Every member Ready once its port accepts connections, not before `warm_up_seconds`."""
    out = copy.deepcopy(lws)
    probe = {"tcpSocket": {"port": PORT}, "initialDelaySeconds": warm_up_seconds, "periodSeconds": 1}
    for role in ("leaderTemplate", "workerTemplate"):
        out["spec"]["leaderWorkerTemplate"][role]["spec"]["containers"][0]["readinessProbe"] = dict(probe)
    return out
