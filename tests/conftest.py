"""Shared test support: tests/support holds helpers used by several test folders (e.g. a real
mock-vllm process on 127.0.0.1), importable as plain modules."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "support"))
