"""The kubelet's gRPC APIs (DRA v1, plugin registration v1, pod resources v1), generated from the kubelet module's own
.proto files at build or test time, never committed.

The files are copied under distinct names (both are `api.proto` upstream) with any gogoproto options
stripped (Go-only, and their import is not available to protoc), then compiled with protoc: Debian's
`protoc` in the image (matching Debian's python3-protobuf), `grpc_tools.protoc` where installed (matching
the pip-installed protobuf). Only message classes are generated; the services are wired by hand
(`fake_gpu.kubelet`), so no grpc_tools plugin is needed in the image.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

PACKAGE = "fake_gpu_protos"
SOURCES = {  # generated module -> path in k8s.io/kubelet
    "dra_v1": "pkg/apis/dra/v1/api.proto",
    "registration_v1": "pkg/apis/pluginregistration/v1/api.proto",
    "podresources_v1": "pkg/apis/podresources/v1/api.proto",
}
_GOGO_IMPORT = re.compile(r'^\s*import\s+"github.com/gogo/protobuf/gogoproto/gogo.proto";\s*$', re.M)
_GOGO_FILE_OPTION = re.compile(r"^\s*option\s+\(gogoproto\.[^)]*\)\s*=\s*[^;]*;\s*$", re.M)
_GOGO_FIELD_OPTIONS = re.compile(r"\s*\[\s*\(gogoproto\.[^\]]*\]")


def strip_gogo(text: str) -> str:
    return _GOGO_FIELD_OPTIONS.sub("", _GOGO_FILE_OPTION.sub("", _GOGO_IMPORT.sub("", text)))


def generate(kubelet_module: Path, out: Path) -> Path:
    """Generate `<out>/fake_gpu_protos/{dra_v1,registration_v1}_pb2.py`; returns `out`."""
    staged = out / "proto-src"
    (staged / PACKAGE).mkdir(parents=True, exist_ok=True)
    (out / PACKAGE).mkdir(parents=True, exist_ok=True)
    for name, rel in SOURCES.items():
        source = kubelet_module / rel
        if not source.is_file():
            raise FileNotFoundError(f"{source}: not found; is {kubelet_module} the k8s.io/kubelet module?")
        (staged / PACKAGE / f"{name}.proto").write_text(strip_gogo(source.read_text()))
    files = [f"{PACKAGE}/{name}.proto" for name in SOURCES]
    if importlib.util.find_spec("grpc_tools") is not None:
        protoc = [sys.executable, "-m", "grpc_tools.protoc"]
    elif shutil.which("protoc"):
        protoc = ["protoc"]
    else:
        raise RuntimeError("neither grpc_tools nor protoc is installed: cannot generate the kubelet APIs")
    proc = subprocess.run([*protoc, f"-I{staged}", f"--python_out={out}", *files], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"protoc failed (exit {proc.returncode}): {proc.stderr.strip()}")
    (out / PACKAGE / "__init__.py").write_text("")
    shutil.rmtree(staged)
    return out


def _module(generated: Path, name: str) -> ModuleType:
    if str(generated) not in sys.path:
        sys.path.insert(0, str(generated))
    return importlib.import_module(f"{PACKAGE}.{name}_pb2")


def load(generated: Path) -> tuple[ModuleType, ModuleType]:
    """The (dra_v1, registration_v1) message modules generated under `generated`."""
    return _module(generated, "dra_v1"), _module(generated, "registration_v1")


def load_podresources(generated: Path) -> ModuleType:
    """The pod resources v1 message module generated under `generated`."""
    return _module(generated, "podresources_v1")
