"""`fake-gpu`: render the driver's objects, or run it on a node."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from fake_gpu import inventory, metrics, personality, podresources, slices, state
from fake_gpu.inventory import InventoryError, NodeInventory


def _inventory(args: argparse.Namespace) -> NodeInventory:
    if args.spec:
        return inventory.from_spec(Path(args.spec), args.node)
    return inventory.load(Path(args.inventory), args.node)


def _source(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--spec", metavar="FILE", help="a testbed spec (needs the harness installed)")
    source.add_argument("--inventory", metavar="FILE", help="an inventory document (JSON), as the image reads it")
    parser.add_argument("--node", default=os.environ.get("NODE_NAME"), help="the node (default: $NODE_NAME)")
    _personality(parser)


def _personality(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--personality",
        choices=sorted(personality.PERSONALITIES),
        default=os.environ.get(personality.ENV, personality.DEFAULT.name),
        help=f"whose driver the devices look like (default: ${personality.ENV}, else default)",
    )


def _print(obj: Any) -> None:
    print(json.dumps(obj, indent=2))  # JSON is YAML: `kubectl apply -f -` takes it


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fake-gpu", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _source(sub.add_parser("render-slices", help="the node's ResourceSlices (resource.k8s.io/v1)"))
    _personality(sub.add_parser("device-classes", help="the driver's DeviceClasses (resource.k8s.io/v1)"))
    publish = sub.add_parser("publish", help="publish the node's ResourceSlice and keep it published")
    _source(publish)
    publish.add_argument("--interval", type=float, default=30.0, help="seconds between re-applies")
    publish.add_argument("--once", action="store_true", help="apply once; exit 1 if the API server refuses")
    run = sub.add_parser("run", help="the driver on its node: publish slices and serve the kubelet plugin")
    _source(run)
    run.add_argument("--interval", type=float, default=30.0, help="seconds between re-applies of the slices")
    run.add_argument("--kubelet-dir", default="/var/lib/kubelet", help="the kubelet's root directory (host path)")
    run.add_argument("--cdi-dir", default="/var/run/cdi", help="where the container runtime reads CDI specs")
    run.add_argument("--protos", default=os.environ.get("FAKE_GPU_PROTOS", "/opt/fake-gpu/generated"))
    run.add_argument("--state-root", default=str(state.HOST_ROOT), help="the GPUs' state directories (host path)")
    run.add_argument("--metrics-port", type=int, default=metrics.PORT, help="GPU metrics (DCGM names) port")
    run.add_argument("--pod-resources", default=str(podresources.SOCKET), help="the kubelet's pod resources socket")
    nodes = sub.add_parser("device-nodes", help="create the GPUs' device nodes in the node's /dev (mounted)")
    _source(nodes)
    nodes.add_argument("--dev", required=True, help="the node's /dev as mounted here")
    scalar = sub.add_parser("scalar", help="scalar mode: advertise counts as extended resources (negative controls)")
    _source(scalar)
    scalar.add_argument("--interval", type=float, default=30.0, help="seconds between re-advertisements")
    gen = sub.add_parser("protos", help="generate the kubelet's gRPC messages from the k8s.io/kubelet module")
    gen.add_argument("--kubelet-module", required=True, help="the k8s.io/kubelet module's tree (or a copy)")
    gen.add_argument("--out", required=True, help="output folder (put it on the driver's --protos)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")

    if args.command == "protos":
        from fake_gpu import protos

        protos.generate(Path(args.kubelet_module), Path(args.out))
        return 0
    chosen = personality.by_name(args.personality) if "personality" in args else personality.DEFAULT
    if args.command == "device-classes":
        _print({"apiVersion": "v1", "kind": "List", "items": slices.device_classes(chosen)})
        return 0
    if not args.node:
        parser.error("--node is required (or set NODE_NAME)")
    try:
        inv = _inventory(args)
    except InventoryError as e:
        print(f"fake-gpu: {e}", file=sys.stderr)
        return 2
    if args.command == "render-slices":
        _print({"apiVersion": "v1", "kind": "List", "items": slices.resource_slices(inv, chosen)})
        return 0
    if args.command == "device-nodes":
        from fake_gpu import devnodes

        made = devnodes.ensure(Path(args.dev), inv, chosen)
        print(f"fake-gpu: {inv.node}: device nodes {', '.join(p.name for p in made) or 'none'}")
        return 0
    if args.command == "run":
        return _run(args, inv, chosen)
    from fake_gpu import publish as publisher
    from fake_gpu import scalar as scalar_mode
    from fake_gpu.apiserver import APIServer

    if args.command == "scalar":
        scalar_mode.run(APIServer.in_cluster(), inv, args.interval)
    elif args.once:
        try:
            publisher.publish_once(APIServer.in_cluster(), inv, chosen)
        except Exception as e:
            print(f"fake-gpu: publishing {inv.node}'s slices failed: {e}", file=sys.stderr)
            return 1
    else:
        publisher.run(APIServer.in_cluster(), inv, args.interval, personality=chosen)
    return 0


def _run(args: argparse.Namespace, inv: NodeInventory, chosen: personality.Personality) -> int:
    from fake_gpu import kubelet, protos
    from fake_gpu import publish as publisher
    from fake_gpu.apiserver import APIServer

    api = APIServer.in_cluster()
    dra_pb, reg_pb = protos.load(Path(args.protos))

    def read_claim(namespace: str, name: str) -> dict[str, Any]:
        claim: dict[str, Any] = api.request(
            "GET", f"/apis/resource.k8s.io/v1/namespaces/{namespace}/resourceclaims/{name}"
        )
        return claim

    paths = kubelet.Paths(Path(args.kubelet_dir), Path(args.cdi_dir), state_root=Path(args.state_root))
    pod_resources = protos.load_podresources(Path(args.protos))
    drivers = set(chosen.drivers)

    def holders() -> dict[str, podresources.Holder]:
        return podresources.holders(Path(args.pod_resources), pod_resources, drivers)

    servers = kubelet.start(paths, inv, read_claim, dra_pb, reg_pb, chosen)
    exporter = metrics.serve(args.metrics_port, inv, holders, paths.state_root, chosen)
    try:
        publisher.run(api, inv, args.interval, personality=chosen)  # until SIGTERM
    finally:
        exporter.shutdown()
        kubelet.stop(servers, paths, chosen)
    return 0
