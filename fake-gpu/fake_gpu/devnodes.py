"""The GPUs' device nodes on the node itself, as a GPU driver's installation creates them
(`/dev/nvidia0`, ...): a container that reaches the node's /dev (privileged, or /dev mounted) finds
them there, and one that claimed nothing must not. Each has /dev/null's numbers (fake_gpu.cdi says
why that is harmless)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from fake_gpu.inventory import NodeInventory
from fake_gpu.personality import Personality

NUMBERS = (1, 3)


def ensure(dev_dir: Path, inv: NodeInventory, personality: Personality) -> list[Path]:
    """Create (or keep) a character device per GPU under `dev_dir` (the node's /dev, mounted)."""
    made = []
    for gpu in inv.gpus:
        path = dev_dir / Path(personality.device_node(gpu.index)).name
        if path.exists() or path.is_symlink():
            st = path.lstat()
            if not stat.S_ISCHR(st.st_mode) or (os.major(st.st_rdev), os.minor(st.st_rdev)) != NUMBERS:
                raise RuntimeError(f"{path} exists and is not the character device {NUMBERS[0]}:{NUMBERS[1]}")
        else:
            os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(*NUMBERS))
        os.chmod(path, 0o666)  # the umask narrowed it
        made.append(path)
    return made
