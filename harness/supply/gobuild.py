"""Build upstream Go programs from their modules with the ordinary `go` command.

Nothing of their source is committed: a recipe names a module, a version and the packages to build.
Modules whose go.mod replaces siblings with relative paths (k8s.io/kubernetes' staging modules,
etcd's server) cannot be `go install`ed; for them a small wrapper module requires the module and
replaces every such sibling with its published version.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from harness import progress
from harness.supply.cache import Step, cache_dir

log = logging.getLogger("llmc.supply")

# `replace X => ../x` or, inside a replace block, `X [version] => ./staging/x`: one per line.
RELATIVE_REPLACE = re.compile(r"^[ \t]*(?:replace[ \t]+)?([^\s(]+)(?:[ \t]+\S+)?[ \t]*=>[ \t]*(\.\.?/\S*)[ \t]*$", re.M)
# `X [version] => Y vN`: a pin to another module version (KEDA pins k8s.io/* this way). Replaces only
# apply in the main module, so the wrapper repeats them or the build picks other versions.
PINNED_REPLACE = re.compile(
    r"^[ \t]*(?:replace[ \t]+)?([^\s(]+)((?:[ \t]+\S+)?[ \t]*=>[ \t]*[^.\s]\S*[ \t]+\S+)[ \t]*$", re.M
)


@dataclass(frozen=True)
class GoBuild:
    """Binaries built from one module at one version."""

    name: str
    module: str
    version: str
    packages: tuple[str, ...]  # full import paths of main packages
    sibling_version: str | None = None  # version of modules replaced by relative paths (default: version)
    ldflags: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    cgo: bool = False
    env: dict[str, str] = field(default_factory=dict)
    binary: str | None = None  # the output name, for a single package whose path ends in /vN

    def inputs(self) -> dict[str, object]:
        return {
            "module": self.module,
            "version": self.version,
            "packages": self.packages,
            "sibling_version": self.sibling_version,
            "ldflags": self.ldflags,
            "tags": self.tags,
            "cgo": self.cgo,
            "env": self.env,
            "binary": self.binary,
            "go": go_version(),
        }


def go_version() -> str:
    return subprocess.run(["go", "env", "GOVERSION"], capture_output=True, text=True, check=True).stdout.strip()


def build(recipe: GoBuild) -> Path:
    """Build the recipe's binaries into a cached folder and return it."""
    step = Step(f"go-{recipe.name}", recipe.inputs())
    if step.done():
        return step.output
    started = time.monotonic()
    work = cache_dir() / "go" / f"{recipe.name}-{recipe.version}"
    work.mkdir(parents=True, exist_ok=True)
    _write_wrapper(work, recipe)
    out = step.output
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    env = {**os.environ, "CGO_ENABLED": "1" if recipe.cgo else "0", "GOFLAGS": "-mod=mod", **recipe.env}
    target = str(out / recipe.binary) if recipe.binary else str(out) + "/"
    cmd = ["go", "build", "-v", "-trimpath", "-o", target]  # -v: each package's name as it builds
    if recipe.ldflags:
        cmd += ["-ldflags", " ".join(recipe.ldflags)]
    if recipe.tags:
        cmd += ["-tags", ",".join(recipe.tags)]
    names = [recipe.binary] if recipe.binary else [p.rsplit("/", 1)[-1] for p in recipe.packages]
    with progress.step(log, f"go build {recipe.module}@{recipe.version} ({' '.join(names)})") as running:
        progress.run(cmd + list(recipe.packages), work / "build.log", running, cwd=work, env=env)
    step.finish(seconds=time.monotonic() - started)
    return out


def _write_wrapper(work: Path, recipe: GoBuild) -> None:
    replaces = _relative_replaces(recipe)
    sibling = recipe.sibling_version or recipe.version
    lines = [f"module llm-conformance.local/build/{recipe.name}", "", f"go {_module_go_directive(recipe)}", ""]
    lines.append(f"require {recipe.module} {recipe.version}")
    pinned = _pinned_replaces(recipe)
    if replaces or pinned:
        lines += ["", "replace ("] + [f"\t{m} => {m} {sibling}" for m in replaces] + pinned + [")"]
    seed = "\n".join(lines) + "\n"
    # `go build -mod=mod` completes go.mod and go.sum; keep them while the seed is unchanged.
    seed_file = work / "go.mod.seed"
    if not seed_file.exists() or seed_file.read_text() != seed:
        (work / "go.mod").write_text(seed)
        (work / "go.sum").unlink(missing_ok=True)
        seed_file.write_text(seed)


def module_dir(module: str, version: str) -> Path:
    """Download a module into the module cache and return its tree there."""
    return Path(_download(module, version)["Dir"])


def _download(module: str, version: str) -> dict[str, str]:
    with progress.step(log, f"go mod download {module}@{version}", quiet=True):
        out = subprocess.run(
            ["go", "mod", "download", "-json", f"{module}@{version}"], capture_output=True, text=True, cwd=cache_dir()
        )
    info: dict[str, str] = json.loads(out.stdout or "{}")
    if out.returncode != 0 or "Dir" not in info:
        raise RuntimeError(f"go mod download {module}@{version} failed: {info.get('Error') or out.stderr}")
    return info


def _module_gomod(recipe: GoBuild) -> str:
    return Path(_download(recipe.module, recipe.version)["GoMod"]).read_text()


def _relative_replaces(recipe: GoBuild) -> list[str]:
    return sorted({m.group(1) for m in RELATIVE_REPLACE.finditer(_module_gomod(recipe))})


def _pinned_replaces(recipe: GoBuild) -> list[str]:
    return sorted(f"\t{m.group(1)}{m.group(2)}" for m in PINNED_REPLACE.finditer(_module_gomod(recipe)))


def _module_go_directive(recipe: GoBuild) -> str:
    match = re.search(r"^go (\S+)", _module_gomod(recipe), re.M)
    return match.group(1) if match else "1.24"
