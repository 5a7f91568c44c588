"""wait_until: transient errors are states to retry, anything else is a bug that stops the wait at once."""

from __future__ import annotations

import errno
import time
from collections.abc import Callable

import pytest
import urllib3.exceptions
from kubernetes.client.exceptions import ApiException

from harness.checks import CheckFailed
from harness.kube.waits import WaitTimeout, is_transient, wait_until


def probes(*steps: tuple[bool, str] | Exception) -> Callable[[], tuple[bool, str]]:
    """A probe that raises or returns each step in turn, then repeats the last."""
    left = list(steps)

    def probe() -> tuple[bool, str]:
        step = left.pop(0) if len(left) > 1 else left[0]
        if isinstance(step, Exception):
            raise step
        return step

    return probe


@pytest.mark.parametrize(
    "error",
    [
        ApiException(status=503, reason="Service Unavailable"),
        urllib3.exceptions.ReadTimeoutError(None, "/api", "read timed out"),  # type: ignore[arg-type]
        ConnectionRefusedError("refused"),
        TimeoutError("timed out"),
        OSError(errno.EHOSTUNREACH, "No route to host"),
    ],
)
def test_a_transient_error_then_success_returns(error: Exception) -> None:
    assert wait_until(probes(error, (True, "done")), timeout=5, what="goal", interval=0) < 5


@pytest.mark.parametrize("error", [KeyError("phase"), TypeError("bad"), CheckFailed("verdict")])
def test_a_bug_or_a_verdict_propagates_at_once(error: Exception) -> None:
    started = time.monotonic()
    with pytest.raises(type(error)):
        wait_until(probes(error), timeout=30, what="goal", interval=0.01)
    assert time.monotonic() - started < 1  # not after the timeout


def test_a_wait_timeout_inside_the_probe_is_not_transient() -> None:
    # WaitTimeout is a TimeoutError: a nested wait's verdict must not read as a network hiccup.
    assert not is_transient(WaitTimeout("inner: not reached"))
    assert not is_transient(OSError(errno.ENOENT, "No such file"))
    assert is_transient(TimeoutError("socket"))


def test_the_timeout_names_the_goal_the_last_state_and_the_last_transient_error() -> None:
    probe = probes(ApiException(status=500, reason="etcd timeout"), (False, "2/3 pods Ready"))
    with pytest.raises(WaitTimeout) as failed:
        wait_until(probe, timeout=0.05, what="pods Ready in ns", interval=0.01)
    message = str(failed.value)
    assert message.startswith("pods Ready in ns: not reached within 0 s")
    assert "last seen: 2/3 pods Ready" in message
    assert "last transient error: ApiException" in message and "etcd timeout" in message


def test_the_timeout_shows_a_transient_error_that_is_the_last_state_once() -> None:
    with pytest.raises(WaitTimeout) as failed:
        wait_until(probes(ConnectionResetError("reset by peer")), timeout=0.05, what="goal", interval=0.01)
    assert str(failed.value).endswith("last seen: ConnectionResetError: reset by peer")
