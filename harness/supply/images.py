"""Docker image builds from recipes/, named with upstream names and cached by their inputs."""

from __future__ import annotations

import importlib.util
import logging
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from harness import progress
from harness.supply import docker_cli
from harness.supply.cache import digest, file_digest, log_file

INPUTS_LABEL = "llm-conformance.inputs"

log = logging.getLogger("llmc.supply")


@dataclass(frozen=True)
class DockerImage:
    names: tuple[str, ...]  # every tag the image gets, e.g. both pause versions
    recipe: Path  # a folder with a Dockerfile (and any files it copies)
    files: dict[str, Path | str] = field(default_factory=dict)  # context path -> file, folder or text
    build_args: dict[str, str] = field(default_factory=dict)

    def key(self) -> str:
        files = {
            path: file_digest(src) if isinstance(src, Path) else digest(src) for path, src in sorted(self.files.items())
        }
        return digest({"recipe": file_digest(self.recipe), "files": files, "args": self.build_args})


def package_sources(package: str, install_hint: str, patterns: tuple[str, ...] = ("*.py",)) -> dict[str, Path | str]:
    """An installed Python package's files as text, keyed by their path in a build context.

    Our own images copy their package from where it is installed, so a wheel-installed harness
    builds them too (no __pycache__, nothing from the working tree)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the {package} package is not installed: `{install_hint}` (tox does this)")
    root = Path(next(iter(spec.submodule_search_locations)))
    files = sorted(f for pattern in patterns for f in root.rglob(pattern))
    return {f"{package}/{f.relative_to(root)}": f.read_text() for f in files}


def build_image(image: DockerImage) -> list[str]:
    """Build unless every name already carries this input key; returns the names."""
    key = image.key()
    if all(docker_cli.image_label(name, INPUTS_LABEL) == key for name in image.names):
        return list(image.names)
    with (
        progress.step(log, f"docker build {', '.join(image.names)}") as running,
        tempfile.TemporaryDirectory(prefix="llmc-image-") as tmp,
    ):
        context = Path(tmp)
        shutil.copytree(image.recipe, context, dirs_exist_ok=True)
        for rel, src in image.files.items():
            target = context / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(src, str):
                target.write_text(src)
            elif src.is_dir():
                shutil.copytree(src, target, dirs_exist_ok=True)
            else:
                shutil.copy2(src, target)
        _normalise_modes(context)
        args = ["build", "--label", f"{INPUTS_LABEL}={key}"]
        for name in image.names:
            args += ["-t", name]
        for arg, value in image.build_args.items():
            args += ["--build-arg", f"{arg}={value}"]
        progress.run(["docker", *args, str(context)], log_file("docker-build", image.names[0]), running)
    return list(image.names)


def _normalise_modes(context: Path) -> None:
    """Files from the Go module cache are read-only; images want 0644 files and 0755 programs."""
    for path in context.rglob("*"):
        if path.is_dir():
            path.chmod(0o755)
        elif path.is_file():
            path.chmod(0o755 if path.stat().st_mode & 0o111 else 0o644)
