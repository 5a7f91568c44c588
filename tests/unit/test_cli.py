"""The `harness` command line as a user meets it: help, version, exit codes, one-line errors."""

from __future__ import annotations

import argparse
import importlib.metadata
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness import cli, versions
from harness.cli import main
from harness.stack import cli as stack_cli

ROOT = Path(__file__).resolve().parents[2]
SPEC = str(ROOT / "clusters" / "default.yaml")
NOT_MINE = {"load"}  # `harness load` has its own owner (harness/load); its options are checked there


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("harness: error: "), err
    assert "Traceback" not in err
    return lines[0]


def parsers() -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every parser of every subcommand, with its command line."""
    todo: list[tuple[str, argparse.ArgumentParser]] = [("harness", cli.parser()[0])]
    while todo:
        name, parser = todo.pop()
        yield name, parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                todo += [(f"{name} {sub}", p) for sub, p in action.choices.items() if sub not in NOT_MINE]


def test_bare_harness_prints_the_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: harness") and "Exit codes" in err and "the following arguments" not in err


def test_an_area_without_a_command_prints_its_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cluster"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: harness cluster") and "create" in err and "delete" in err


def test_version_is_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"harness {importlib.metadata.version('llm-inference-conformance')}"


def test_unknown_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["spec", "validate", "--no-such-option", SPEC]) == 2
    assert "unrecognized arguments: --no-such-option" in capsys.readouterr().err


def test_every_option_of_every_command_has_help_and_shows_its_default() -> None:
    seen = set()
    for name, parser in parsers():
        seen.add(name)
        text = parser.format_help()
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction | argparse._VersionAction):
                continue
            assert action.help, f"{name}: {action.dest} has no help"
            if action.default not in (None, False, [], argparse.SUPPRESS):
                assert f"default: {action.default}" in " ".join(text.split()), f"{name}: {action.dest}'s default"
    assert {"harness cluster create", "harness stack install", "harness report validate", "harness images list"} <= seen


def test_the_cluster_create_timeout_has_the_pytest_option_s_name() -> None:
    names = {name: {o for a in p._actions for o in a.option_strings} for name, p in parsers()}
    for command in ("harness cluster create", "harness stack install"):
        assert {"--create-timeout", "--image-mode", "--image-mirror"} <= names[command], command
    for command in ("harness discover", "harness stack install"):
        assert {"--kubeconfig", "--context"} <= names[command], command


def test_a_missing_spec_file_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["spec", "validate", "/missing.yaml"], ["cluster", "create", "/missing.yaml"]):
        assert main(argv) == 2
        assert one_error_line(capsys.readouterr().err) == "harness: error: /missing.yaml: no such file or folder"


def test_an_invalid_spec_fails_validation_with_1_and_is_a_usage_error_elsewhere(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nnodes: []\n")
    assert main(["spec", "validate", str(bad)]) == 1
    assert "invalid testbed spec" in capsys.readouterr().err
    assert main(["cluster", "delete", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"harness: error: {bad}: invalid testbed spec") and "Traceback" not in err


def test_report_validate_of_a_missing_path_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "validate", "/missing"]) == 2
    assert one_error_line(capsys.readouterr().err) == "harness: error: /missing: no such file or folder"


def test_report_commands_on_a_folder_without_results(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "validate", str(tmp_path)]) == 2
    assert one_error_line(capsys.readouterr().err).endswith("no results.json in this folder")
    assert main(["report", "render", str(tmp_path)]) == 2
    one_error_line(capsys.readouterr().err)


def test_report_validate_fails_with_1_on_a_broken_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "results.json").write_text("{not json")
    assert main(["report", "validate", str(tmp_path)]) == 1
    assert "not JSON" in capsys.readouterr().err


def test_stack_install_refuses_a_testbed_that_is_not_running(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import harness.cluster.kind
    import harness.cluster.testbed

    def no_testbed(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a testbed was made")

    monkeypatch.setattr(harness.cluster.kind, "resolve_kind", lambda: Path("kind"))
    monkeypatch.setattr(harness.cluster.kind.Kind, "clusters", lambda self: ["another"])
    monkeypatch.setattr(harness.cluster.testbed, "TestbedCluster", no_testbed)
    assert main(["stack", "install", SPEC]) == 3
    line = one_error_line(capsys.readouterr().err)
    assert "no kind cluster named 'llmc' is running" in line and "--create" in line


def test_stack_install_needs_a_target(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stack", "install"]) == 2
    assert "give a testbed spec FILE" in one_error_line(capsys.readouterr().err)


def test_a_cluster_that_already_exists_is_an_environment_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import harness.cluster.testbed

    class Existing:
        def __init__(self, *args: Any) -> None:
            raise RuntimeError("a kind cluster named 'llmc' already exists; delete it")

    monkeypatch.setattr(harness.cluster.testbed, "TestbedCluster", Existing)
    assert main(["cluster", "create", SPEC]) == 3
    assert one_error_line(capsys.readouterr().err).endswith("already exists; delete it")


def test_cluster_delete_of_a_testbed_in_use_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import harness.cluster.lock

    monkeypatch.setattr(harness.cluster.lock.TestbedLock, "held_elsewhere", lambda self: "owned by pid 1")
    assert main(["cluster", "delete", SPEC]) == 3
    assert one_error_line(capsys.readouterr().err) == "harness: error: not deleting: owned by pid 1"


def test_discover_with_a_missing_kubeconfig(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["discover", "--kubeconfig", "/missing/config"]) == 2
    assert one_error_line(capsys.readouterr().err) == "harness: error: kubeconfig /missing/config: no such file"


def test_interrupted_is_130_and_a_bug_still_tracebacks(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(args: argparse.Namespace) -> int:
        raise KeyboardInterrupt

    def buggy(args: argparse.Namespace) -> int:
        raise TypeError("a bug")

    monkeypatch.setitem(cli.COMMANDS, ("spec", "validate"), interrupted)
    assert main(["spec", "validate", SPEC]) == 130
    assert capsys.readouterr().err.strip() == "harness: interrupted"
    monkeypatch.setitem(cli.COMMANDS, ("spec", "validate"), buggy)
    with pytest.raises(TypeError, match="a bug"):
        main(["spec", "validate", SPEC])


def test_images_list_names_every_image_a_run_uses(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from harness.supply import docker_cli

    present = {versions.pinned()["busybox"]["image"]}
    monkeypatch.setattr(cli, "docker_answers", lambda: True)
    monkeypatch.setattr(docker_cli, "image_exists", lambda name: name in present)
    assert main(["images", "list"]) == 0
    rows = {line.split()[0]: line.split(maxsplit=2)[1:] for line in capsys.readouterr().out.splitlines()[1:]}
    v = versions.pinned()
    wanted = [
        v["node_image"],
        v["busybox"]["image"],
        v["lws"]["image"],
        v["kueue"]["image"],
        *v["keda"]["images"].values(),
        v["prometheus"]["image"],
        v["mock_vllm"]["image"],
        v["fake_gpu"]["image"],
    ]
    for image in wanted:
        assert image in rows, image
    assert rows[v["busybox"]["image"]][0] == "present" and rows[v["lws"]["image"]][0] == "missing"
    assert (
        "./workloads/mock-vllm" in rows[v["mock_vllm"]["image"]][1] and "./fake-gpu" in rows[v["fake_gpu"]["image"]][1]
    )


def test_images_list_without_docker_says_the_state_is_unknown(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "docker_answers", lambda: False)
    assert main(["images", "list"]) == 0
    captured = capsys.readouterr()
    assert "no Docker engine answers" in captured.err
    assert all(" unknown " in line for line in captured.out.splitlines()[1:])


def test_stack_module_cli_is_wired(capsys: pytest.CaptureFixture[str]) -> None:
    assert set(stack_cli.COMMANDS) == {("stack", "install"), ("stack", "objects")}
    assert main(["report", "schema"]) == 0
    assert json.loads(capsys.readouterr().out)["type"] == "object"
