"""`harness stack ...`: install the stack on a testbed, and list the objects each mode applies."""

from __future__ import annotations

import argparse
import sys

from harness.supply import Mode


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    stack = sub.add_parser("stack", help="the orchestration stack").add_subparsers(dest="command", required=True)
    install = stack.add_parser("install", help="install LWS, Kueue, KEDA, Prometheus on a running testbed")
    install.add_argument("file", nargs="?", help="testbed spec of a running cluster (`harness cluster create FILE`)")
    install.add_argument("--kubeconfig", help="or an existing cluster: its kubeconfig (installs only what is missing)")
    install.add_argument("--context", help="the kubeconfig's context (default: its current one)")
    install.add_argument("--image-mode", choices=[m.value for m in Mode])
    objects = stack.add_parser(
        "objects", help="`component kind namespace/name` of every object, to compare the two modes"
    )
    objects.add_argument(
        "--from-release",
        action="store_true",
        help="read the upstream release manifests (needs internet) instead of rendering the modules",
    )
    objects.add_argument("--images", action="store_true", help="list the images the objects run instead")
    objects.add_argument(
        "--compare",
        action="store_true",
        help="render the modules AND read the release manifests (needs internet); exit 1 if kinds, names "
        "or images differ",
    )


def install(args: argparse.Namespace) -> int:
    from harness.cluster.testbed import Options, TestbedCluster
    from harness.spec import load_spec
    from harness.stack import install_stack

    mode = Mode(args.image_mode) if args.image_mode else None
    if args.kubeconfig or args.context:
        return _install_existing(args, mode)
    if not args.file:
        print("harness stack install: give a testbed spec FILE, or --kubeconfig/--context", file=sys.stderr)
        return 2
    options = Options(mode=mode, reuse=True, keep=True)
    cluster = TestbedCluster(load_spec(args.file), options)
    cluster.start()
    try:
        figures = install_stack(cluster)
    except RuntimeError as e:
        print(e, file=sys.stderr)
        return 1
    print(figures.summary())
    for container, mib in sorted(figures.memory_mib.items()):
        print(f"{container}: {mib:.0f} MiB")
    return 0


def _install_existing(args: argparse.Namespace, mode: Mode | None) -> int:
    from harness.cluster.existing import ContextError, ExistingCluster, ensure_stack, resolve

    try:
        cluster = ExistingCluster(resolve(args.kubeconfig, args.context), mode)
    except ContextError as e:
        print(e, file=sys.stderr)
        return 2
    try:
        figures = ensure_stack(cluster, allow_install=True)
    except RuntimeError as e:
        print(e, file=sys.stderr)
        return 1
    finally:
        cluster.close()
    print(figures.summary())
    return 0


def objects(args: argparse.Namespace) -> int:
    try:
        if args.compare:
            return _compare()
        mode = Mode.REGISTRY if args.from_release else Mode.SOURCE
        for row in _rows(mode, args.images):
            print(row)
    except RuntimeError as e:
        print(e, file=sys.stderr)
        return 1
    return 0


def _rows(mode: Mode, images: bool) -> list[str]:
    from harness.stack import components
    from harness.stack.render import identities, images_of

    rows = []
    for component in components():
        objs = component.objects(mode)
        rows += [f"{component.name} {row}" for row in (images_of(objs) if images else identities(objs))]
    return rows


def _compare() -> int:
    rendered = set(_rows(Mode.SOURCE, False) + _rows(Mode.SOURCE, True))
    released = set(_rows(Mode.REGISTRY, False) + _rows(Mode.REGISTRY, True))
    for row in sorted(rendered - released):
        print(f"only rendered from the module: {row}")
    for row in sorted(released - rendered):
        print(f"only in the release manifest:  {row}")
    print(f"{len(rendered & released)} objects and images agree, {len(rendered ^ released)} differ")
    return 1 if rendered ^ released else 0


COMMANDS = {("stack", "install"): install, ("stack", "objects"): objects}
