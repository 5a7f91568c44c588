"""Status conditions, read one way whatever holds them: typed objects of the kubernetes client (V1Pod,
V1Node, V1Deployment, ...) and dicts (custom objects: Kueue's Workloads and ClusterQueues, KEDA's
ScaledObjects). Readiness is a condition too: `is_true(pod, "Ready")`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Condition:
    type: str
    status: str  # True, False or Unknown
    reason: str = ""
    message: str = ""
    last_transition: datetime | str | None = None  # a datetime on typed objects, RFC 3339 text in dicts


def conditions(obj: Any) -> list[Condition]:
    """The object's status.conditions, typed or dict; [] without any."""
    if isinstance(obj, dict):
        return [
            Condition(
                c["type"], c["status"], c.get("reason") or "", c.get("message") or "", c.get("lastTransitionTime")
            )
            for c in (obj.get("status") or {}).get("conditions") or []
        ]
    status = getattr(obj, "status", None)
    return [
        Condition(
            c.type,
            c.status,
            getattr(c, "reason", None) or "",
            getattr(c, "message", None) or "",
            getattr(c, "last_transition_time", None),
        )
        for c in getattr(status, "conditions", None) or []
    ]


def condition(obj: Any, kind: str) -> Condition | None:
    """The object's condition of type `kind`, or None."""
    return next((c for c in conditions(obj) if c.type == kind), None)


def is_true(obj: Any, kind: str) -> bool:
    """The object has condition `kind` with status True (a pod's Ready, a Workload's Admitted, ...)."""
    c = condition(obj, kind)
    return c is not None and c.status == "True"
