"""A first interrupt during clean-up lets it finish (then stops the run); a second abandons it and
names what is left behind."""

from __future__ import annotations

import os
import signal

import pytest

from harness.cluster.interrupts import shielded


def test_first_interrupt_lets_the_clean_up_finish(caplog: pytest.LogCaptureFixture) -> None:
    done = []
    with (
        pytest.raises(KeyboardInterrupt, match="deleting testbed t finished after an interrupt"),
        shielded("deleting testbed t", "the cluster t"),
    ):
        os.kill(os.getpid(), signal.SIGINT)
        done.append("rest of the clean-up")
    assert done == ["rest of the clean-up"]
    assert "interrupt again to abandon it, leaving the cluster t" in caplog.text


def test_second_interrupt_abandons_it_naming_what_is_left() -> None:
    done = []
    with (
        pytest.raises(KeyboardInterrupt, match="deleting testbed t abandoned: left behind the cluster t"),
        shielded("deleting testbed t", "the cluster t"),
    ):
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGINT)
        done.append("never")
    assert done == []


def test_handlers_are_restored_and_an_uninterrupted_block_just_runs() -> None:
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with shielded("deleting testbed t", "the cluster t"):
        pass
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
