"""The scaling checks' judgments on synthetic timelines: each passes on a good observation and fails
for each reason it names."""

from __future__ import annotations

import pytest
from timelines import group, sample, timeline

from harness.checks import CheckFailed, scaling


def test_groups_created_by_scaling_whole_before_serving_pass() -> None:
    seen = timeline(
        sample(0, 1, group(0, "RR", serving=True)),
        sample(1, 2, group(0, "RR", serving=True), group(1, "UP")),
        sample(2, 2, group(0, "RR", serving=True), group(1, "RU")),
        sample(3, 2, group(0, "RR", serving=True), group(1, "RR", serving=True)),
    )
    assert scaling.created_groups(seen) == [1]
    partial = scaling.whole_before_serving(seen)
    assert partial == {1: 2.0}


def test_whole_before_serving_fails_when_nothing_was_created() -> None:
    """The vacuous pass: a scale-up that never happened left nothing to judge."""
    seen = timeline(*(sample(t, 1, group(0, "RR", serving=True)) for t in range(5)))
    with pytest.raises(CheckFailed, match=r"no group was created during the 5 samples \(groups \[0\] throughout"):
        scaling.whole_before_serving(seen)


def test_whole_before_serving_fails_when_a_partial_group_serves() -> None:
    seen = timeline(
        sample(0, 1, group(0, "RR", serving=True)),
        sample(1, 2, group(0, "RR", serving=True), group(1, "RP", serving=True)),
    )
    with pytest.raises(CheckFailed, match=r"a partial group received traffic:\n.*group 1: 1/2 members running"):
        scaling.whole_before_serving(seen)


def test_whole_before_serving_fails_on_too_few_samples() -> None:
    with pytest.raises(CheckFailed, match="1 samples, cannot judge"):
        scaling.whole_before_serving(timeline(sample(0, 1, group(0, "RR", serving=True))))


def test_buffer_placed_fails_when_no_placeholder_fits() -> None:
    scaling.buffer_placed(["placeholder-w1"], ["w1", "w2"])
    with pytest.raises(CheckFailed, match=r"no placeholder of the capacity buffer could be placed on \['w1'\]"):
        scaling.buffer_placed([], ["w1"])
