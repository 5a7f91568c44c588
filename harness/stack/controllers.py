"""The controllers a stack install runs: every Deployment of every component's objects, with the
images the pins give it. The pinned-versions check compares the cluster against this list, so a
controller that is missing is named, not overlooked."""

from __future__ import annotations

from dataclasses import dataclass

from harness.stack.component import Component
from harness.supply import Mode


@dataclass(frozen=True)
class Controller:
    component: str
    namespace: str
    name: str
    images: tuple[str, ...]  # sorted

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name} ({self.component})"


def expected_controllers(components: list[Component], mode: Mode) -> list[Controller]:
    out = []
    for c in components:
        for obj in c.objects(mode):
            if obj["kind"] != "Deployment":
                continue
            containers = obj["spec"]["template"]["spec"]["containers"]
            out.append(
                Controller(
                    c.name,
                    obj["metadata"].get("namespace", c.namespace),
                    obj["metadata"]["name"],
                    tuple(sorted({str(ct["image"]) for ct in containers})),
                )
            )
    return out
