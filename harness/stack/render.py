"""Where a component's objects come from: the upstream release manifest (registry mode) or the
module's own kustomization rendered the way its release target does it (source mode).

Source mode copies the module's config/ out of the (read-only) module cache, points each
kustomization's image at the upstream release name (what `kustomize edit set image` does in the
project's `make artifacts`/`make release`), and runs `kubectl kustomize`.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from harness.kube.objects import Object
from harness.supply.cache import Step
from harness.supply.kubectl import kubectl


@dataclass(frozen=True)
class ImagePin:
    """`kustomize edit set image NAME=IMAGE` in the kustomization folder KUSTOMIZATION."""

    kustomization: str  # folder relative to the module root, e.g. config/manager
    name: str  # the image name the kustomization's `images:` entry matches
    image: str  # upstream release image, repository:tag


@dataclass(frozen=True)
class KustomizeSource:
    module_dir: Path
    kustomization: str  # folder to build, e.g. config/default
    images: tuple[ImagePin, ...]
    # Text edits a release target makes before building (path relative to the module, transform).
    edits: tuple[tuple[str, Callable[[str], str]], ...] = field(default=())


def render(source: KustomizeSource) -> list[Object]:
    """Cached by its inputs: kustomize takes seconds per component, a reused cluster should not wait."""
    edited = {rel: transform((source.module_dir / rel).read_text()) for rel, transform in source.edits}
    step = Step(
        "kustomize",
        {"module": str(source.module_dir), "build": source.kustomization, "images": source.images, "edits": edited},
    )
    output = step.output / "objects.yaml"
    if not step.done():
        step.output.mkdir(parents=True, exist_ok=True)
        output.write_text(_kustomize(source, edited))
        step.finish()
    return parse(output.read_text())


def _kustomize(source: KustomizeSource, edited: dict[str, str]) -> str:
    with tempfile.TemporaryDirectory(prefix="llmc-kustomize-") as tmp:
        tree = Path(tmp) / "module"
        shutil.copytree(source.module_dir / "config", tree / "config")
        for path in tree.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)
        for pin in source.images:
            set_image(tree / pin.kustomization / "kustomization.yaml", pin.name, pin.image)
        for rel, text in edited.items():
            (tree / rel).write_text(text)
        out = subprocess.run(
            [kubectl(), "kustomize", str(tree / source.kustomization)], capture_output=True, text=True, timeout=120
        )
    if out.returncode != 0:
        raise RuntimeError(f"kubectl kustomize {source.kustomization} failed: {out.stderr.strip()}")
    return out.stdout


def set_image(kustomization: Path, name: str, image: str) -> None:
    """Like `kustomize edit set image name=image`."""
    doc = yaml.safe_load(kustomization.read_text())
    repository, tag = split_image(image)
    entries = doc.setdefault("images", [])
    entry = next((e for e in entries if e.get("name") == name), None)
    if entry is None:
        entry = {"name": name}
        entries.append(entry)
    entry.pop("digest", None)
    entry.update(newName=repository, newTag=tag)
    kustomization.write_text(yaml.safe_dump(doc, sort_keys=False))


def split_image(image: str) -> tuple[str, str]:
    repository, sep, tag = image.rpartition(":")
    if not sep or "/" in tag:
        raise ValueError(f"image {image!r} has no tag")
    return repository, tag


def fetch(url: str, timeout: float = 60) -> list[Object]:
    """The upstream release manifest (registry mode)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return parse(resp.read().decode())
    except OSError as e:
        raise RuntimeError(
            f"cannot fetch the release manifest {url}: {e} (offline? use image mode source: "
            "--llmc-image-mode, or --image-mode for `harness`)"
        ) from None


def parse(text: str) -> list[Object]:
    # libyaml's loader: Kueue's CRDs are megabytes, which the pure-Python loader takes seconds over.
    return [doc for doc in yaml.load_all(text, Loader=yaml.CSafeLoader) if doc]


def identities(objects: list[Object]) -> list[str]:
    """`Kind namespace/name` of each object, sorted: what the two modes must agree on."""
    rows = []
    for obj in objects:
        meta = obj.get("metadata", {})
        ns = meta.get("namespace")
        rows.append(f"{obj['kind']} {ns + '/' if ns else ''}{meta.get('name')}")
    return sorted(rows)


def images_of(objects: list[Object]) -> list[str]:
    found = set()
    for obj in objects:
        pod = obj.get("spec", {}).get("template", {}).get("spec", {})
        for c in pod.get("containers", []) + pod.get("initContainers", []):
            found.add(c["image"])
    return sorted(found)
