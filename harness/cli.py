"""`harness` command line: specs, images and clusters (the suites run through pytest).

Exit codes: 0 ok; 1 a check or validation failed; 2 usage error (bad arguments, a missing file, an
invalid spec); 3 the environment or cluster is not as needed (no Docker engine, a cluster that
already exists or does not, a failed install or build); 130 interrupted.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from types import FrameType
from typing import Any

import yaml

from harness import __version__, progress, versions
from harness.options import CREATE_TIMEOUT_ENV, IMAGE_MODES, default_create_timeout
from harness.spec import SpecError, load_spec

OK, FAILED, USAGE, ENVIRONMENT, INTERRUPTED = 0, 1, 2, 3, 130


class CommandError(Exception):
    """The user's or the environment's error, not the harness's: one line on stderr, no traceback."""

    def __init__(self, message: str, code: int = USAGE) -> None:
        super().__init__(message)
        self.code = code


class HelpFormatter(argparse.HelpFormatter):
    """Each option's help ends with its default, where it has one worth saying."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if default is None or default is False or default == [] or default == argparse.SUPPRESS:
            return text
        return text if "default" in text else f"{text} (default: %(default)s)"


class Parser(argparse.ArgumentParser):
    """Subcommands' parsers are made by their parent's class, so they all format help alike."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)


Subcommands = argparse._SubParsersAction  # type of add_subparsers()' result


def command(sub: Subcommands, name: str, help: str) -> Parser:
    """A subcommand whose own --help starts with what it does."""
    parser: Parser = sub.add_parser(name, help=help, description=help)
    return parser


def subcommands(area: Parser) -> Subcommands:
    return area.add_subparsers(dest="command", metavar="COMMAND", help="`COMMAND --help` tells its options")


def existing(path: str) -> Path:
    """A file or folder the user named, which must exist."""
    if not Path(path).exists():
        raise CommandError(f"{path}: no such file or folder")
    return Path(path)


def parser() -> tuple[Parser, Subcommands]:
    """The parser and its areas (spec, images, ...), whose parsers print their own help."""
    pinned = versions.pinned()["kubernetes"]
    root = Parser(prog="harness", description=__doc__, formatter_class=_RawDescription)
    root.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = root.add_subparsers(dest="area", metavar="AREA", help="`harness AREA --help` lists its commands")

    spec = subcommands(command(sub, "spec", "testbed specs"))
    validate = command(spec, "validate", "check spec files; exit 1 with the problems on stderr")
    validate.add_argument("files", nargs="+", metavar="FILE", help="testbed spec (YAML)")
    kindcfg = command(spec, "kind-config", "print the kind cluster config derived from a spec")
    kindcfg.add_argument("file", metavar="FILE", help="testbed spec (YAML)")
    kindcfg.add_argument("--image", help="node image (default: kindest/node:<the spec's Kubernetes version>)")
    kindcfg.add_argument(
        "--cgroup-v1",
        choices=["auto", "yes", "no"],
        default="auto",
        help="whether the Docker host is on cgroup v1 (auto: ask Docker)",
    )
    kindcfg.add_argument(
        "--mirrors-dir", metavar="DIR", help="containerd certs.d folder to mount (default: source mode's)"
    )

    images = subcommands(command(sub, "images", "image supply"))
    build = command(images, "build", "build every testbed image from source (cached by inputs)")
    build.add_argument("--kubernetes", default=pinned, metavar="VERSION", help="Kubernetes version")
    push = command(images, "push", "build, then push every testbed and stack image to a mirror (for image mode mirror)")
    push.add_argument("--to", required=True, metavar="HOST:PORT", help="registry the Docker engine can push to")
    push.add_argument("--kubernetes", default=pinned, metavar="VERSION", help="Kubernetes version")
    listing = command(images, "list", "every image a run uses, where it comes from, and whether it is here")
    listing.add_argument("--kubernetes", default=pinned, metavar="VERSION", help="Kubernetes version")

    load = sub.add_parser(
        "load",
        help="run bounded Locust load against an OpenAI-compatible server on 127.0.0.1",
        description="Streaming chat completions from Locust users, timed token by token; prints a summary and "
        "exits 1 when more requests failed than --max-failure-rate allows (or none were made).",
    )
    load.add_argument("--target", required=True, metavar="URL", help="server base URL, e.g. http://127.0.0.1:30080")
    load.add_argument("--users", type=int, default=4, help="concurrent users")
    load.add_argument("--spawn-rate", type=float, default=4, help="users started per second")
    load.add_argument(
        "--duration",
        type=float,
        default=30,
        metavar="SECONDS",
        help="send new requests for this long; open ones run to their end",
    )
    load.add_argument("--max-requests", type=int, default=0, help="stop after this many requests, 0: no limit")
    load.add_argument("--model", help="model to request (default: the first one the target's GET /v1/models lists)")
    load.add_argument("--max-tokens", type=int, default=32, help="tokens per completion")
    load.add_argument("--prompt-words", type=int, default=16, help="words in each prompt")
    load.add_argument(
        "--request-timeout",
        type=float,
        default=120,
        metavar="SECONDS",
        help="longest silence before a request fails; retries fit in it too",
    )
    load.add_argument(
        "--retries",
        type=int,
        default=2,
        help="retries of an attempt the server never answered (refused, closed, connect timeout), as the OpenAI "
        "SDK does; never of an HTTP error or a started stream",
    )
    load.add_argument(
        "--max-failure-rate",
        type=float,
        default=0.0,
        metavar="FRACTION",
        help="exit 1 when a larger fraction of requests failed; 0: any failure fails",
    )
    load.add_argument(
        "--out", required=True, metavar="DIR", help="where results.json, requests.jsonl and Locust's CSVs go"
    )

    cluster = subcommands(command(sub, "cluster", "testbed clusters"))
    create = command(cluster, "create", "create a testbed from a spec and leave it running")
    create.add_argument("file", metavar="FILE", help="testbed spec (YAML)")
    image_options(create)
    create_timeout_option(create)
    delete = command(cluster, "delete", "delete a testbed (cluster, registry, network)")
    delete.add_argument("file", metavar="FILE", help="testbed spec (YAML) of the testbed")

    discover = command(
        sub, "discover", "an existing cluster's topology, installed components and device profile (read-only)"
    )
    cluster_options(discover)
    discover.add_argument(
        "--device-profile", metavar="FILE", help="YAML file overriding the discovered device profile (shown merged)"
    )

    doctor = command(sub, "doctor", "what a testbed run needs here, and how to get it; exit 3 if something is missing")
    image_options(doctor)

    from harness.report import cli as report_cli
    from harness.stack import cli as stack_cli

    stack_cli.add_commands(sub)
    report_cli.add_commands(sub)
    return root, sub


class _RawDescription(HelpFormatter, argparse.RawDescriptionHelpFormatter):
    """The top-level help keeps the module docstring's lines (the exit codes)."""


def image_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--image-mode",
        choices=IMAGE_MODES,
        help="where images come from (default: registry if upstream registries answer, else source)",
    )
    parser.add_argument("--image-mirror", metavar="URL", help="registry mirror for image mode mirror")
    parser.add_argument(
        "--node-image",
        metavar="IMAGE",
        help="image mode registry: your own kind node image (default: kind's published one, by digest)",
    )


def create_timeout_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--create-timeout",
        type=float,
        default=default_create_timeout(),
        metavar="SECONDS",
        help=f"bound on image supply + cluster creation; ${CREATE_TIMEOUT_ENV} changes it",
    )


def cluster_options(parser: argparse.ArgumentParser) -> None:
    """An existing cluster, as pytest's --llmc-kubeconfig/--llmc-context name it."""
    parser.add_argument("--kubeconfig", metavar="FILE", help="kubeconfig file (default: kubectl's)")
    parser.add_argument("--context", metavar="NAME", help="context to use (default: the kubeconfig's current one)")


def main(argv: list[str] | None = None) -> int:
    root, areas = parser()
    try:
        args = root.parse_args(argv)
    except SystemExit as e:  # --help, --version, or a usage error argparse has printed
        return e.code if isinstance(e.code, int) else USAGE
    progress.install_stderr()
    if args.area in ("load", "discover", "doctor"):
        args.command = "run"
    if args.area is None or args.command is None:
        (areas.choices[args.area] if args.area else root).print_help(sys.stderr)
        return USAGE
    from harness.report import cli as report_cli
    from harness.stack import cli as stack_cli

    commands = {**COMMANDS, **stack_cli.COMMANDS, **report_cli.COMMANDS}
    # SIGTERM cleans up like Ctrl-C: half-made testbeds are removed on the way out.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        return commands[(args.area, args.command)](args)
    except KeyboardInterrupt:
        print("harness: interrupted", file=sys.stderr)
        return INTERRUPTED
    except CommandError as e:
        return _error(str(e), e.code)
    except SpecError as e:
        return _error(str(e), USAGE)
    except Exception as e:
        if _environment_error(e):
            return _error(str(e) or type(e).__name__, ENVIRONMENT)
        raise  # a bug in the harness: its traceback helps
    finally:
        signal.signal(signal.SIGTERM, previous)


def _error(message: str, code: int) -> int:
    print(f"harness: error: {message}", file=sys.stderr)
    return code


def _environment_error(e: Exception) -> bool:
    """Docker, kind, kubectl, the API server or the network failed us, or a build did; the harness
    raises RuntimeError for those. Modules not imported yet cannot have raised their errors."""
    if isinstance(e, NotImplementedError | RecursionError):
        return False
    kinds: list[type] = [RuntimeError, OSError, subprocess.SubprocessError]
    for module, name in (("urllib3.exceptions", "HTTPError"), ("kubernetes.client.exceptions", "ApiException")):
        kind = getattr(sys.modules.get(module), name, None)
        if isinstance(kind, type):
            kinds.append(kind)
    return isinstance(e, tuple(kinds))


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _validate(args: argparse.Namespace) -> int:
    for file in args.files:
        existing(file)
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
    return FAILED if failed else OK


def _kind_config(args: argparse.Namespace) -> int:
    from harness.spec.kindconfig import NodeRuntime, kind_config
    from harness.supply import mirrors_path

    spec = load_spec(existing(args.file))
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
    return OK


def _images_build(args: argparse.Namespace) -> int:
    from harness.supply import source

    built = source.build_all(args.kubernetes)
    for name in (built.node, *built.cluster, built.registry):
        print(name)
    return OK


def _images_push(args: argparse.Namespace) -> int:
    from harness.stack.images import build_controllers, build_prometheus
    from harness.supply import registry, source

    built = source.build_all(args.kubernetes)
    stack = [*build_controllers(), build_prometheus()]
    registry.push([built.node, *built.cluster, *stack], args.to.removeprefix("http://").removeprefix("https://"))
    return OK


def images_in_use(kubernetes: str) -> list[tuple[str, str, str]]:
    """(image, what uses it, where it comes from) for every image a run uses. Registry mode pulls the
    testbed's and the stack's images under these names; source mode builds them as said here."""
    from harness.stack.images import controllers, go_builds
    from harness.supply import source

    v = versions.pinned()
    rows = [(name, "testbed", origin) for name, origin in source.planned_images(kubernetes)]
    rows += [
        (image, "testbed, registry mode", f"kind {v['kind']}'s published node image for {version}")
        for version, image in v["node_images"].items()
    ]
    builds = go_builds()
    for c in controllers():
        build = builds[c.build]
        rows.append((c.image, f"stack: {c.build}", f"{build.module}@{build.version} ({c.binary})"))
    prometheus = v["prometheus"]
    rows.append(
        (prometheus["image"], "stack: prometheus", f"Debian {v['debian']} package {prometheus['debian_package']}")
    )
    for key, folder, what in (
        ("mock_vllm", "workloads/mock-vllm", "mock vLLM engine"),
        ("fake_gpu", "fake-gpu", "fake GPU driver"),
    ):
        own = v[key]
        rows.append(
            (own["image"], what, f"this project: the {key} package (./{folder}) on Debian {v['debian']}, any mode")
        )
    rows.append((v["registry_base"], "registry mode", "our own images' Debian base (apt inside a Dockerfile)"))
    return rows


def docker_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0


def _images_list(args: argparse.Namespace) -> int:
    from harness.supply import docker_cli

    rows = images_in_use(args.kubernetes)
    docker = docker_answers()
    if not docker:
        print("harness: no Docker engine answers: whether each image is here is unknown", file=sys.stderr)
    width = max(len(name) for name, _, _ in rows)
    used = max(len(use) for _, use, _ in rows)
    print(f"{'IMAGE':<{width}}  {'STATE':<7}  {'USED BY':<{used}}  FROM (source mode; registry mode pulls the rest)")
    for name, use, origin in rows:
        state = ("present" if docker_cli.image_exists(name) else "missing") if docker else "unknown"
        print(f"{name:<{width}}  {state:<7}  {use:<{used}}  {origin}")
    return OK


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
    from harness.checks import NotApplicable
    from harness.cluster.existing import ContextError, ExistingCluster, resolve
    from harness.dra.drivers import device_profile
    from harness.dra.profile import ProfileError

    try:
        cluster = ExistingCluster(resolve(args.kubeconfig, args.context))
    except ContextError as e:
        raise CommandError(str(e)) from None
    try:
        print(cluster.discovery.describe())
        try:
            print(device_profile(cluster, args.device_profile).describe())
        except NotApplicable as e:
            print(f"device profile: none: {e}")
        except (ProfileError, OSError) as e:
            raise CommandError(str(e)) from None
    finally:
        cluster.close()
    return OK


def _doctor(args: argparse.Namespace) -> int:
    from harness import doctor
    from harness.supply import Mode

    return doctor.run(Mode(args.image_mode) if args.image_mode else None, args.image_mirror, args.node_image)


def _cluster_create(args: argparse.Namespace) -> int:
    from harness.cluster.testbed import Options, TestbedCluster
    from harness.supply import Mode

    spec = load_spec(existing(args.file))
    options = Options(
        mode=Mode(args.image_mode) if args.image_mode else None,
        mirror_url=args.image_mirror,
        node_image=args.node_image,
        keep=True,
        create_timeout=args.create_timeout,
    )
    cluster = TestbedCluster(spec, options)
    with cluster:
        print(f"kubeconfig: {cluster.kubeconfig}")
    return OK


def _cluster_delete(args: argparse.Namespace) -> int:
    from harness.cluster.kind import Kind, resolve_kind
    from harness.cluster.lock import TestbedLock
    from harness.cluster.testbed import delete_testbed, network_name
    from harness.supply.cache import cache_dir

    spec = load_spec(existing(args.file))
    busy = TestbedLock(spec.name, cache_dir() / "clusters" / spec.name).held_elsewhere()
    if busy:
        raise CommandError(f"not deleting: {busy}", ENVIRONMENT)
    kind = Kind(resolve_kind(), network=network_name(spec.name))
    existed = spec.name in kind.clusters()
    delete_testbed(spec.name, kind)
    print(f"deleted testbed {spec.name}" if existed else f"no kind cluster named {spec.name}; removed its leftovers")
    return OK


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
