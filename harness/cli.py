"""`harness` command line: specs, images and clusters (the suites run through pytest)."""

from __future__ import annotations

import argparse
import signal
import sys
from types import FrameType

import yaml

from harness import progress, versions
from harness.spec import SpecError, load_spec


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="harness", description=__doc__)
    sub = parser.add_subparsers(dest="area", required=True)

    spec = sub.add_parser("spec", help="testbed specs").add_subparsers(dest="command", required=True)
    validate = spec.add_parser("validate", help="check spec files; exit 1 with the problems on stderr")
    validate.add_argument("files", nargs="+")
    kindcfg = spec.add_parser("kind-config", help="print the kind cluster config derived from a spec")
    kindcfg.add_argument("file")
    kindcfg.add_argument("--image", help="node image (default: kindest/node:<spec's Kubernetes version>)")
    kindcfg.add_argument(
        "--cgroup-v1",
        choices=["auto", "yes", "no"],
        default="auto",
        help="whether the Docker host is on cgroup v1 (auto: ask Docker)",
    )
    kindcfg.add_argument("--mirrors-dir", help="containerd certs.d folder to mount (default: source mode's)")

    images = sub.add_parser("images", help="image supply").add_subparsers(dest="command", required=True)
    build = images.add_parser("build", help="build every testbed image from source (cached by inputs)")
    build.add_argument("--kubernetes", default=None, help="Kubernetes version (default: pinned)")
    push = images.add_parser("push", help="build, then push every image to a mirror (for --image-mode mirror)")
    push.add_argument("--to", required=True, metavar="HOST:PORT", help="registry the Docker engine can push to")
    push.add_argument("--kubernetes", default=None)
    listing = images.add_parser("list", help="each image, where it comes from, and whether it is present")
    listing.add_argument("--kubernetes", default=None)

    load = sub.add_parser(
        "load",
        help="run bounded Locust load against an OpenAI-compatible server on 127.0.0.1",
        description="Streaming chat completions from Locust users, timed token by token; prints a summary and "
        "exits 1 when more requests failed than --max-failure-rate allows (or none were made).",
    )
    load.add_argument("--target", required=True, metavar="URL", help="server base URL, e.g. http://127.0.0.1:30080")
    load.add_argument("--users", type=int, default=4, help="concurrent users (default: %(default)s)")
    load.add_argument("--spawn-rate", type=float, default=4, help="users started per second (default: %(default)s)")
    load.add_argument(
        "--duration",
        type=float,
        default=30,
        metavar="SECONDS",
        help="send new requests for this long; open ones run to their end (default: %(default)s)",
    )
    load.add_argument(
        "--max-requests", type=int, default=0, help="stop after this many requests, 0: no limit (default: %(default)s)"
    )
    load.add_argument("--model", help="model to request (default: the first one the target's GET /v1/models lists)")
    load.add_argument("--max-tokens", type=int, default=32, help="tokens per completion (default: %(default)s)")
    load.add_argument("--prompt-words", type=int, default=16, help="words in each prompt (default: %(default)s)")
    load.add_argument(
        "--request-timeout",
        type=float,
        default=120,
        metavar="SECONDS",
        help="longest silence before a request fails; retries fit in it too (default: %(default)s)",
    )
    load.add_argument(
        "--retries",
        type=int,
        default=2,
        help="retries of an attempt the server never answered (refused, closed, connect timeout), as the OpenAI "
        "SDK does; never of an HTTP error or a started stream (default: %(default)s)",
    )
    load.add_argument(
        "--max-failure-rate",
        type=float,
        default=0.0,
        metavar="FRACTION",
        help="exit 1 when a larger fraction of requests failed; 0: any failure fails (default: %(default)s)",
    )
    load.add_argument(
        "--out", required=True, metavar="DIR", help="where results.json, requests.jsonl and Locust's CSVs go"
    )

    cluster = sub.add_parser("cluster", help="testbed clusters").add_subparsers(dest="command", required=True)
    create = cluster.add_parser("create", help="create a testbed from a spec and leave it running")
    create.add_argument("file")
    create.add_argument("--image-mode", choices=["registry", "source", "mirror"])
    create.add_argument("--image-mirror")
    create.add_argument("--timeout", type=float, default=1800)
    delete = cluster.add_parser("delete", help="delete a testbed (cluster, registry, network)")
    delete.add_argument("file")

    discover = sub.add_parser("discover", help="an existing cluster's topology and installed components (read-only)")
    discover.add_argument("--kubeconfig", help="kubeconfig file (default: kubectl's)")
    discover.add_argument("--context", help="context to read (default: the kubeconfig's current one)")

    doctor = sub.add_parser(
        "doctor", help="what a testbed run needs here, and how to get it; exit 3 if something is missing"
    )
    doctor.add_argument(
        "--image-mode", choices=["registry", "source", "mirror"], help="default: detected as a run would"
    )
    doctor.add_argument("--image-mirror", metavar="URL", help="the mirror --image-mode mirror would use")

    from harness.stack import cli as stack_cli

    stack_cli.add_commands(sub)
    COMMANDS.update(stack_cli.COMMANDS)

    from harness.report import cli as report_cli

    report_cli.add_commands(sub)
    COMMANDS.update(report_cli.COMMANDS)

    args = parser.parse_args(argv)
    progress.install_stderr()
    if args.area in ("load", "discover", "doctor"):
        args.command = "run"
    # SIGTERM cleans up like Ctrl-C: half-made testbeds are removed on the way out.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        return COMMANDS[(args.area, args.command)](args)
    except SpecError as e:
        print(e, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _validate(args: argparse.Namespace) -> int:
    failed = 0
    for file in args.files:
        try:
            spec = load_spec(file)
        except SpecError as e:
            print(e, file=sys.stderr)
            failed += 1
            continue
        workers = spec.workers
        gpus = sum(n.hardware.gpu_count for n in workers if n.hardware)
        print(
            f"{file}: ok ({len(spec.nodes)} nodes, {len(workers)} workers, {gpus} GPUs, Kubernetes {spec.kubernetes})"
        )
    return 1 if failed else 0


def _kind_config(args: argparse.Namespace) -> int:
    from harness.spec.kindconfig import NodeRuntime, kind_config
    from harness.supply import mirrors_path

    spec = load_spec(args.file)
    if args.cgroup_v1 == "auto":
        from harness.cluster.testbed import cgroup_v1, docker_client

        v1 = cgroup_v1(docker_client())
    else:
        v1 = args.cgroup_v1 == "yes"
    runtime = NodeRuntime(
        image=args.image or f"docker.io/kindest/node:{spec.kubernetes}",
        cgroup_v1=v1,
        mirrors_dir=args.mirrors_dir or str(mirrors_path(spec.name)),
    )
    sys.stdout.write(yaml.safe_dump(kind_config(spec, runtime), sort_keys=False))
    return 0


def _images_build(args: argparse.Namespace) -> int:
    from harness.supply import source

    built = source.build_all(args.kubernetes or versions.pinned()["kubernetes"])
    for name in (built.node, *built.cluster, built.registry):
        print(name)
    return 0


def _images_push(args: argparse.Namespace) -> int:
    from harness.supply import registry, source

    built = source.build_all(args.kubernetes or versions.pinned()["kubernetes"])
    registry.push([built.node, *built.cluster], args.to.removeprefix("http://").removeprefix("https://"))
    return 0


def _images_list(args: argparse.Namespace) -> int:
    from harness.supply import docker_cli, source

    rows = source.planned_images(args.kubernetes or versions.pinned()["kubernetes"])
    width = max(len(name) for name, _ in rows)
    for name, origin in rows:
        present = "present" if docker_cli.image_exists(name) else "missing"
        print(f"{name:<{width}}  {present:<7}  {origin}")
    return 0


def _load(args: argparse.Namespace) -> int:
    from pathlib import Path

    from harness.load import LoadSpec, NoModel, TargetRefused, check_target, run, served_model

    if not 0 <= args.max_failure_rate <= 1:
        print(f"harness load: --max-failure-rate: {args.max_failure_rate} must be in [0, 1]", file=sys.stderr)
        return 2
    try:
        check_target(args.target)  # before anything is sent, the model lookup included
        model = args.model or served_model(args.target)
        spec = LoadSpec(
            target=args.target,
            users=args.users,
            spawn_rate=args.spawn_rate,
            duration=args.duration,
            max_requests=args.max_requests,
            model=model,
            max_tokens=args.max_tokens,
            prompt_words=args.prompt_words,
            request_timeout=args.request_timeout,
            retries=args.retries,
        )
        result = run(spec, Path(args.out))
    except NoModel as e:
        print(f"harness load: {e}", file=sys.stderr)
        return 1
    except (TargetRefused, ValueError) as e:
        print(f"harness load: {e}", file=sys.stderr)
        return 2
    print(result.summary())
    print(f"results: {Path(args.out) / 'results.json'}")
    if not result.requests:
        print("harness load: no request was made", file=sys.stderr)
        return 1
    if result.failed > args.max_failure_rate * result.requests:
        print(
            f"harness load: {result.failed} of {result.requests} requests failed "
            f"({result.failed / result.requests:.1%} > --max-failure-rate {args.max_failure_rate:g}): "
            f"{result.top_failures()}",
            file=sys.stderr,
        )
        return 1
    return 0


def _discover(args: argparse.Namespace) -> int:
    from harness.cluster.existing import ContextError, ExistingCluster, resolve

    try:
        cluster = ExistingCluster(resolve(args.kubeconfig, args.context))
    except ContextError as e:
        print(e, file=sys.stderr)
        return 2
    try:
        print(cluster.discovery.describe())
    finally:
        cluster.close()
    return 0


def _doctor(args: argparse.Namespace) -> int:
    from harness import doctor
    from harness.supply import Mode

    return doctor.run(Mode(args.image_mode) if args.image_mode else None, args.image_mirror)


def _cluster_create(args: argparse.Namespace) -> int:
    from harness.cluster.testbed import Options, TestbedCluster
    from harness.supply import Mode

    spec = load_spec(args.file)
    options = Options(
        mode=Mode(args.image_mode) if args.image_mode else None,
        mirror_url=args.image_mirror,
        keep=True,
        create_timeout=args.timeout,
    )
    cluster = TestbedCluster(spec, options)
    with cluster:
        print(f"kubeconfig: {cluster.kubeconfig}")
    return 0


def _cluster_delete(args: argparse.Namespace) -> int:
    from harness.cluster.kind import Kind, resolve_kind
    from harness.cluster.lock import TestbedLock
    from harness.cluster.testbed import delete_testbed, network_name
    from harness.supply.cache import cache_dir

    spec = load_spec(args.file)
    busy = TestbedLock(spec.name, cache_dir() / "clusters" / spec.name).held_elsewhere()
    if busy:
        print(f"harness cluster delete: not deleting: {busy}", file=sys.stderr)
        return 1
    delete_testbed(spec.name, Kind(resolve_kind(), network=network_name(spec.name)))
    return 0


COMMANDS = {
    ("spec", "validate"): _validate,
    ("spec", "kind-config"): _kind_config,
    ("images", "build"): _images_build,
    ("images", "push"): _images_push,
    ("images", "list"): _images_list,
    ("load", "run"): _load,
    ("discover", "run"): _discover,
    ("doctor", "run"): _doctor,
    ("cluster", "create"): _cluster_create,
    ("cluster", "delete"): _cluster_delete,
}
