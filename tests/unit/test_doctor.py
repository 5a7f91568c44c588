"""`harness doctor` with every probe faked: a healthy machine, then one thing broken at a time."""

from __future__ import annotations

import http.server
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from harness import cli, doctor
from harness.cluster import testbed
from harness.spec import load_spec
from harness.supply import Mode

GIB = 2**30
CLUSTERS = Path(__file__).parents[2] / "clusters"


class Usage(NamedTuple):
    total: int
    used: int
    free: int


class Machine:
    """What the probes see; each test changes what it is about."""

    def __init__(self, tmp_path: Path) -> None:
        self.info: dict[str, Any] | None = {
            "ServerVersion": "27.5.1",
            "CgroupVersion": "2",
            "CgroupDriver": "systemd",
            "SecurityOptions": ["name=seccomp,profile=builtin", "name=cgroupns"],
            "DockerRootDir": str(tmp_path / "docker"),
            "Plugins": {"Authorization": None},
        }
        self.programs = {"go", "kubectl", "mmdebstrap", "cc", "docker"}
        self.go = "go1.26.8"
        self.free = 100 * GIB
        self.node_image = False
        self.proc_sys = tmp_path / "proc-sys"
        self.inotify(512, 524288)

    def inotify(self, instances: int, watches: int) -> None:
        folder = self.proc_sys / "fs" / "inotify"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "max_user_instances").write_text(f"{instances}\n")
        (folder / "max_user_watches").write_text(f"{watches}\n")


@pytest.fixture
def listening() -> Iterator[int]:
    """A TCP port on 127.0.0.1 that accepts connections."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, listening: int) -> Machine:
    m = Machine(tmp_path)
    (tmp_path / "docker").mkdir()
    (tmp_path / "cache").mkdir()

    def docker_info() -> dict[str, Any]:
        if m.info is None:
            raise ConnectionError("Cannot connect to the Docker daemon at unix:///var/run/docker.sock")
        return m.info

    monkeypatch.setattr(doctor, "docker_info", docker_info)
    monkeypatch.setattr(shutil, "which", lambda name: f"/usr/bin/{name}" if name in m.programs else None)
    monkeypatch.setattr(doctor, "go_version", lambda: m.go)
    monkeypatch.setattr(shutil, "disk_usage", lambda path: Usage(500 * GIB, 500 * GIB - m.free, m.free))
    monkeypatch.setattr(doctor.docker_cli, "image_exists", lambda name: m.node_image)
    monkeypatch.setattr(doctor, "cache_dir", lambda: tmp_path / "cache")
    monkeypatch.setattr(doctor, "PROC_SYS", m.proc_sys)
    monkeypatch.setattr(doctor, "UPSTREAM_PROBES", (("127.0.0.1", listening),))
    return m


def names(problems: list[doctor.Finding]) -> list[str]:
    return [p.name for p in problems]


def test_a_machine_with_everything_has_no_problems_in_source_mode(machine: Machine) -> None:
    found = doctor.findings(Mode.SOURCE)
    assert all(f.ok for f in found), found
    assert {"docker", "cgroup", "go", "kubectl", "mmdebstrap", "cc", "disk", "inotify"} <= set(names(found))


def test_missing_programs_say_what_to_install(machine: Machine) -> None:
    machine.programs -= {"mmdebstrap", "cc"}
    problems = {p.name: p for p in doctor.problems(Mode.SOURCE)}
    assert set(problems) == {"mmdebstrap", "cc"}
    assert problems["mmdebstrap"].fix == "apt-get install mmdebstrap"
    assert "gcc" in problems["cc"].fix and "libc6-dev" in problems["cc"].fix


def test_registry_mode_needs_neither_mmdebstrap_nor_go_nor_a_c_compiler(machine: Machine) -> None:
    machine.programs -= {"mmdebstrap", "cc", "go"}
    assert doctor.problems(Mode.REGISTRY) == []
    assert "mmdebstrap" in names(doctor.problems(Mode.MIRROR, "http://127.0.0.1:9"))


def test_go_missing_or_too_old_for_source_mode(machine: Machine) -> None:
    machine.go = "go1.24.3"
    (old,) = doctor.problems(Mode.SOURCE)
    assert old.name == "go" and "older than go1.26" in old.problem and "Go ≥ 1.26" in old.fix
    machine.programs.discard("go")
    (missing,) = doctor.problems(Mode.SOURCE)
    assert missing.name == "go" and "no `go` on PATH" in missing.problem


def test_an_old_go_does_in_mirror_mode_unless_kubectl_must_be_built(machine: Machine) -> None:
    machine.go = "go1.24.3"
    assert "go" not in names(doctor.problems(Mode.MIRROR, "http://127.0.0.1:9"))
    machine.programs.discard("kubectl")
    go = next(p for p in doctor.problems(Mode.MIRROR, "http://127.0.0.1:9") if p.name == "go")
    assert "kubectl" in go.problem


def test_registry_mode_without_kubectl_or_go_takes_kubectl_from_the_node_image(machine: Machine) -> None:
    machine.programs -= {"kubectl", "go"}
    assert doctor.problems(Mode.REGISTRY) == []
    kubectl = next(f for f in doctor.findings(Mode.REGISTRY) if f.name == "kubectl")
    assert "node image" in kubectl.found


def test_no_docker_engine_is_one_problem_with_how_to_start_it(machine: Machine) -> None:
    machine.info = None
    (problem,) = doctor.problems(Mode.SOURCE)
    assert problem.name == "docker"
    assert "Cannot connect to the Docker daemon" in problem.problem
    assert "systemctl start docker" in problem.fix


def test_cgroup_v1_is_a_problem_only_for_published_node_images_of_kubernetes_1_35_on(machine: Machine) -> None:
    assert machine.info is not None
    machine.info["CgroupVersion"] = "1"
    (problem,) = doctor.problems(Mode.REGISTRY, kubernetes="v1.37.0")
    assert problem.name == "cgroup" and "1.35+" in problem.problem and "--image-mode source" in problem.fix
    assert doctor.problems(Mode.REGISTRY, kubernetes="v1.34.11") == []
    # The user's own node image is theirs to judge (the simulated upstream's runs on cgroup v1).
    assert doctor.problems(Mode.REGISTRY, kubernetes="v1.37.0", node_image="example.org/node:mine") == []
    assert doctor.problems(Mode.SOURCE, kubernetes="v1.37.2") == []
    cgroup = next(f for f in doctor.findings(Mode.SOURCE) if f.name == "cgroup")
    assert "failCgroupV1: false" in cgroup.found


def test_rootless_docker_on_cgroup_v1_is_a_problem(machine: Machine) -> None:
    assert machine.info is not None
    machine.info["SecurityOptions"] = ["name=rootless"]
    assert doctor.problems(Mode.SOURCE) == []
    machine.info["CgroupVersion"] = "1"
    assert names(doctor.problems(Mode.SOURCE)) == ["docker"]


def test_low_inotify_limits_come_with_the_sysctl_that_raises_them(machine: Machine) -> None:
    machine.inotify(128, 524288)
    (problem,) = doctor.problems(Mode.SOURCE)
    assert problem.name == "inotify"
    assert problem.fix.startswith("sysctl -w fs.inotify.max_user_instances=512 ")
    assert "max_user_watches" not in problem.fix.split("(")[0]  # only the limit that is low


def test_unreadable_proc_sys_is_not_a_problem(machine: Machine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor, "PROC_SYS", machine.proc_sys / "absent")
    inotify = next(f for f in doctor.findings(Mode.SOURCE) if f.name == "inotify")
    assert inotify.ok and "not checked" in inotify.found


def test_a_cold_source_build_needs_more_disk_than_a_built_one(machine: Machine) -> None:
    machine.free = 20 * GIB
    (problem,) = doctor.problems(Mode.SOURCE)
    assert problem.name == "disk" and "about 30 GiB" in problem.problem and "LLMC_CACHE_DIR" in problem.fix
    machine.node_image = True  # the big builds are done
    assert doctor.problems(Mode.SOURCE) == []
    machine.free = 5 * GIB
    assert "about 10 GiB" in doctor.problems(Mode.REGISTRY)[0].problem


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_registry_mode_needs_the_upstream_registries(
    machine: Machine, monkeypatch: pytest.MonkeyPatch, listening: int
) -> None:
    assert doctor.problems(Mode.REGISTRY) == []
    monkeypatch.setattr(doctor, "UPSTREAM_PROBES", (("127.0.0.1", listening), ("127.0.0.1", closed_port())))
    (problem,) = doctor.problems(Mode.REGISTRY)
    assert problem.name == "registry" and "--image-mode source" in problem.fix
    assert doctor.problems(Mode.SOURCE) == []  # source mode asks no registry


class _Unauthorized(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(401)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def mirror() -> Iterator[str]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Unauthorized)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_mirror_mode_needs_a_mirror_that_answers(machine: Machine, mirror: str) -> None:
    assert doctor.problems(Mode.MIRROR, mirror_url=mirror) == []  # 401 is an answer
    (absent,) = doctor.problems(Mode.MIRROR)
    assert "--image-mirror" in absent.fix
    (silent,) = doctor.problems(Mode.MIRROR, mirror_url=f"http://127.0.0.1:{closed_port()}")
    assert silent.name == "mirror" and "harness images push" in silent.fix


def test_require_raises_with_every_problem_and_its_fix(machine: Machine) -> None:
    machine.programs.discard("mmdebstrap")
    machine.inotify(128, 8192)
    with pytest.raises(doctor.MissingPrerequisites) as raised:
        doctor.require(Mode.SOURCE)
    text = str(raised.value)
    assert "harness doctor --image-mode source" in text
    assert "fix: apt-get install mmdebstrap" in text
    assert "fix: sysctl -w fs.inotify.max_user_instances=512 fs.inotify.max_user_watches=524288" in text
    assert names(raised.value.problems) == ["mmdebstrap", "inotify"]


def test_a_testbed_with_a_missing_prerequisite_stops_before_anything_is_made(
    machine: Machine, monkeypatch: pytest.MonkeyPatch
) -> None:
    machine.programs.discard("mmdebstrap")

    def made(*args: object, **kwargs: object) -> None:
        raise AssertionError("the testbed started making things before the prerequisites were checked")

    monkeypatch.setattr(testbed, "docker_client", made)
    monkeypatch.setattr(testbed, "resolve_kind", made)
    monkeypatch.setattr(testbed, "cache_dir", made)
    spec = load_spec(CLUSTERS / "default.yaml")
    with pytest.raises(doctor.MissingPrerequisites, match="mmdebstrap"):
        testbed.TestbedCluster(spec, testbed.Options(mode=Mode.SOURCE))


def test_registry_mode_refuses_a_kubernetes_version_kind_did_not_publish_before_making_anything(
    machine: Machine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def made(*args: object, **kwargs: object) -> None:
        raise AssertionError("the testbed started making things before the node image was checked")

    monkeypatch.setattr(testbed, "docker_client", made)
    monkeypatch.setattr(testbed, "resolve_kind", made)
    monkeypatch.setattr(testbed, "cache_dir", made)
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text((CLUSTERS / "default.yaml").read_text() + "kubernetes: v1.37.2\n")
    spec = load_spec(spec_file)
    with pytest.raises(doctor.MissingPrerequisites) as refused:
        testbed.TestbedCluster(spec, testbed.Options(mode=Mode.REGISTRY))
    message = str(refused.value)
    assert "node image: kind v0.33.0 published node images for Kubernetes v1.37.0, v1.36.4, v1.35.8, v1.34.11 " in (
        message
    )
    assert "not v1.37.2" in message and "image mode source" in message and "builds any version" in message


def test_cli_prints_each_finding_and_exits_3_when_something_is_missing(
    machine: Machine, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["doctor", "--image-mode", "source"]) == 0
    assert "ready for a testbed run in image mode source" in capsys.readouterr().out
    machine.programs.discard("cc")
    assert cli.main(["doctor", "--image-mode", "source"]) == doctor.EXIT_MISSING
    out = capsys.readouterr().out
    assert "PROBLEM cc" in out and "fix: apt-get install gcc libc6-dev" in out
    assert "ok      go" in out
