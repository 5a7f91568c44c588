"""The AI-service-metrics check's judgment: each group's scraped count is what it answered, and the
sum is exactly the requests sent; one test per reason it fails."""

from __future__ import annotations

import pytest

from harness.checks import CheckFailed
from harness.checks.service_metrics import judge_counted

SENT = {"infer-0": 5, "infer-1": 5}


def test_every_request_counted_once_passes() -> None:
    assert judge_counted(SENT, {"infer-0": 5.0, "infer-1": 5.0}, {}) == (
        "vllm:request_success_total summed over 2 groups: 10 = 10 requests answered"
    )


def test_a_group_nobody_scrapes_is_named_with_its_pods() -> None:
    with pytest.raises(CheckFailed) as failed:
        judge_counted(SENT, {"infer-0": 5.0}, {"infer-1": ["infer-1", "infer-1-1"]})
    message = str(failed.value)
    assert message.startswith("vllm:request_success_total summed over the groups is 5 after 10 requests")
    assert "group infer-1: answered 5, Prometheus has no vllm:request_success_total for it" in message
    assert "pods ['infer-1', 'infer-1-1'] are no scrape target" in message
    assert failed.value.figures == {"requests_sent": 10, "requests_counted": 5.0}


def test_a_group_counted_twice_fails() -> None:
    with pytest.raises(CheckFailed, match="group infer-1: answered 5, Prometheus counts 10"):
        judge_counted(SENT, {"infer-0": 5.0, "infer-1": 10.0}, {})


def test_a_scraped_group_without_the_metric_fails() -> None:
    with pytest.raises(CheckFailed, match=r"group infer-0: answered 5, .* \(no series\)"):
        judge_counted(SENT, {"infer-1": 5.0}, {})
