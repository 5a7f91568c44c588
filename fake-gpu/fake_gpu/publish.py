"""Publish the node's ResourceSlice and keep it there: re-applied periodically, so a deleted or
edited slice comes back; left in place on exit, so a restarting driver does not withdraw devices
that running pods hold."""

from __future__ import annotations

import logging
import signal
import threading
import urllib.parse
from typing import Any

from fake_gpu.apiserver import APIServer
from fake_gpu.inventory import NodeInventory
from fake_gpu.personality import DEFAULT, Personality
from fake_gpu.slices import resource_slices

log = logging.getLogger("fake_gpu.publish")
SLICES = "/apis/resource.k8s.io/v1/resourceslices"


def owned_slices(api: APIServer, inv: NodeInventory, personality: Personality = DEFAULT) -> list[dict[str, Any]]:
    """The slices, owned by their Node so that they go when the node goes (as the kubelet helper does)."""
    node = api.request("GET", f"/api/v1/nodes/{inv.node}")
    owner = {"apiVersion": "v1", "kind": "Node", "name": inv.node, "uid": node["metadata"]["uid"], "controller": True}
    objs = resource_slices(inv, personality)
    for obj in objs:
        obj["metadata"]["ownerReferences"] = [owner]
    return objs


def publish_once(api: APIServer, inv: NodeInventory, personality: Personality = DEFAULT) -> None:
    objs = owned_slices(api, inv, personality)
    for obj in objs:
        api.apply(f"{SLICES}/{obj['metadata']['name']}", obj)
    # Slices of this node and its drivers that are not ours any more (an older layout) would
    # double-count devices in the pool: delete them.
    current = {obj["metadata"]["name"] for obj in objs}
    for driver in personality.drivers:
        selector = f"spec.nodeName={inv.node},spec.driver={driver}"
        for old in api.request("GET", f"{SLICES}?fieldSelector={urllib.parse.quote(selector)}")["items"]:
            if old["metadata"]["name"] not in current:
                api.request("DELETE", f"{SLICES}/{old['metadata']['name']}")
                log.info("deleted stale slice %s", old["metadata"]["name"])


def run(
    api: APIServer,
    inv: NodeInventory,
    interval: float,
    stop: threading.Event | None = None,
    personality: Personality = DEFAULT,
) -> None:
    stop = stop or threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    log.info("publishing %s's pool: %d GPUs, %d NICs", inv.node, len(inv.gpus), len(inv.nics))
    published = False
    while not stop.is_set():
        try:
            publish_once(api, inv, personality)
            if not published:
                log.info("published %s's pool", inv.node)
            published = True
        except Exception as e:  # the API server may be briefly away: retry, never crash-loop
            log.warning("publishing %s's pool failed: %s", inv.node, e)
        stop.wait(interval if published else 2.0)
