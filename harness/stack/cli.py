"""`harness stack ...`: install the stack on a testbed, and list the objects each mode applies."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from harness.cli import (
    ENVIRONMENT,
    FAILED,
    OK,
    CommandError,
    Subcommands,
    cluster_options,
    command,
    create_timeout_option,
    existing,
    image_options,
    subcommands,
)

if TYPE_CHECKING:
    from harness.supply import Mode


def add_commands(sub: Subcommands) -> None:
    stack = subcommands(command(sub, "stack", "the orchestration stack"))
    install = command(stack, "install", "install LWS, Kueue, KEDA, Prometheus on a running testbed or your cluster")
    install.add_argument(
        "file", nargs="?", metavar="FILE", help="testbed spec of a running testbed (`harness cluster create FILE`)"
    )
    cluster_options(install)  # or an existing cluster: installs only what is missing
    image_options(install)
    install.add_argument("--create", action="store_true", help="create the testbed of FILE if it is not running")
    create_timeout_option(install)
    objects = command(stack, "objects", "`component kind namespace/name` of every object, to compare the two modes")
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
    from harness.cluster.kind import Kind, resolve_kind
    from harness.cluster.testbed import Options, TestbedCluster, network_name
    from harness.spec import load_spec
    from harness.stack import install_stack
    from harness.supply import Mode

    mode = Mode(args.image_mode) if args.image_mode else None
    if args.kubeconfig or args.context:
        if args.file:
            raise CommandError("give a testbed spec FILE or --kubeconfig/--context, not both")
        return _install_existing(args, mode)
    if not args.file:
        raise CommandError("give a testbed spec FILE, or --kubeconfig/--context")
    spec = load_spec(existing(args.file))
    if not args.create and spec.name not in Kind(resolve_kind(), network=network_name(spec.name)).clusters():
        raise CommandError(
            f"no kind cluster named {spec.name!r} is running: `harness cluster create {args.file}` first, "
            "or pass --create",
            ENVIRONMENT,
        )
    options = Options(
        mode=mode, mirror_url=args.image_mirror, reuse=True, keep=True, create_timeout=args.create_timeout
    )
    cluster = TestbedCluster(spec, options)
    cluster.start()
    figures = install_stack(cluster)
    print(figures.summary())
    for container, mib in sorted(figures.memory_mib.items()):
        print(f"{container}: {mib:.0f} MiB")
    return OK


def _install_existing(args: argparse.Namespace, mode: Mode | None) -> int:
    from harness.cluster.existing import ContextError, ExistingCluster, resolve
    from harness.stack.existing import ensure_stack

    try:
        cluster = ExistingCluster(resolve(args.kubeconfig, args.context), mode)
    except ContextError as e:
        raise CommandError(str(e)) from None
    try:
        figures = ensure_stack(cluster, allow_install=True)
    finally:
        cluster.close()
    print(figures.summary())
    return OK


def objects(args: argparse.Namespace) -> int:
    from harness.supply import Mode

    if args.compare:
        return _compare()
    mode = Mode.REGISTRY if args.from_release else Mode.SOURCE
    for row in _rows(mode, args.images):
        print(row)
    return OK


def _rows(mode: Mode, images: bool) -> list[str]:
    from harness.stack import components
    from harness.stack.render import identities, images_of

    rows = []
    for component in components():
        objs = component.objects(mode)
        rows += [f"{component.name} {row}" for row in (images_of(objs) if images else identities(objs))]
    return rows


def _compare() -> int:
    from harness.supply import Mode

    rendered = set(_rows(Mode.SOURCE, False) + _rows(Mode.SOURCE, True))
    released = set(_rows(Mode.REGISTRY, False) + _rows(Mode.REGISTRY, True))
    for row in sorted(rendered - released):
        print(f"only rendered from the module: {row}")
    for row in sorted(released - rendered):
        print(f"only in the release manifest:  {row}")
    print(f"{len(rendered & released)} objects and images agree, {len(rendered ^ released)} differ")
    return FAILED if rendered ^ released else OK


COMMANDS = {("stack", "install"): install, ("stack", "objects"): objects}
