"""Facts the pytest options and the `harness` command share, importable without the heavy modules
(the plugin loads in every pytest run of its environment, the CLI on every command)."""

from __future__ import annotations

import os

IMAGE_MODES = ("registry", "source", "mirror")  # harness.supply.Mode's values (that module brings docker)
CREATE_TIMEOUT_ENV = "LLMC_CREATE_TIMEOUT"
CREATE_TIMEOUT = 1800  # seconds for image supply + cluster creation: covers a cold source-mode image build


def default_create_timeout() -> float:
    return float(os.environ.get(CREATE_TIMEOUT_ENV, CREATE_TIMEOUT))
