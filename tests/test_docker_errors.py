"""Bad targets and unreachable engines: one line naming what was tried, exit 2."""

from __future__ import annotations

import os
import socket

import pytest

import dockertest
from dockertest import label_args

from conftest import ctprof

pytestmark = pytest.mark.docker


@pytest.fixture
def engine():
    yield from dockertest.labelled_engine()


def _one_line_error(proc) -> str:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("ctprof: error: ")
    return lines[0]


def test_unknown_container_named(engine, tmp_path):
    _, token = engine
    name = f"no-such-container-{token}"
    line = _one_line_error(ctprof("attach", name, "-o", str(tmp_path / "run")))
    assert name in line
    assert not (tmp_path / "run").exists()


def test_ambiguous_prefix_lists_matches(engine, tmp_path):
    client, token = engine
    for suffix in ("a", "b"):
        client.containers.create(
            dockertest.IMAGE,
            ["true"],
            name=f"ctprof-amb-{token}-{suffix}",
            labels={dockertest.LABEL: token},
        )
    line = _one_line_error(ctprof("attach", f"ctprof-amb-{token}-"))
    assert "ambiguous" in line
    assert f"ctprof-amb-{token}-a" in line
    assert f"ctprof-amb-{token}-b" in line


def test_stopped_container_rejected(engine, tmp_path):
    client, token = engine
    container = client.containers.create(
        dockertest.IMAGE, ["true"], labels={dockertest.LABEL: token}
    )
    line = _one_line_error(ctprof("attach", container.name))
    assert "not running" in line
    assert container.name in line


def test_missing_socket_named(tmp_path):
    path = tmp_path / "absent.sock"
    env = {**os.environ, "DOCKER_HOST": f"unix://{path}"}
    line = _one_line_error(ctprof("attach", "anything", env=env))
    assert str(path) in line
    assert "not found" in line
    line = _one_line_error(
        ctprof("docker-run", "--", dockertest.IMAGE, "true", env=env)
    )
    assert str(path) in line


def test_daemon_not_listening_named(tmp_path):
    # A socket file with no listener, as a stopped engine leaves behind.
    path = str(tmp_path / "stale.sock")
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(path)
    try:
        env = {**os.environ, "DOCKER_HOST": f"unix://{path}"}
        line = _one_line_error(ctprof("attach", "--all", env=env))
    finally:
        stale.close()
    assert path in line
    assert "not running" in line


def test_permission_denied_named(tmp_path):
    # The check runs in a child that dropped root, as a user outside the
    # docker group would; the socket allows only its owner (root).
    from ctprof.targets import docker as docker_target

    dockertest.docker_client()
    directory = tmp_path / "sock"
    directory.mkdir()
    os.chmod(tmp_path, 0o755)
    os.chmod(directory, 0o755)
    path = str(directory / "docker.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    os.chmod(path, 0o600)
    import docker  # noqa: F401 - imported before the child loses access to it

    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(read_end)
        message = b"connected"
        try:
            os.setgroups([])
            os.setresgid(65534, 65534, 65534)
            os.setresuid(65534, 65534, 65534)
            os.environ["DOCKER_HOST"] = f"unix://{path}"
            docker_target.connect(timeout=5)
        except docker_target.DockerError as exc:
            message = str(exc).encode()
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            message = repr(exc).encode()
        os.write(write_end, message)
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as f:
        message = f.read().decode()
    os.waitpid(child, 0)
    server.close()
    assert "permission denied" in message
    assert path in message


def test_engine_error_on_create_is_one_line(engine, tmp_path):
    _, token = engine
    proc = ctprof(
        "docker-run",
        "-o",
        str(tmp_path / "run"),
        "--",
        *label_args(token),
        "no-such-image-ctprof:never",
        "true",
    )
    line = _one_line_error(proc)
    assert "no-such-image-ctprof:never" in line
    assert not (tmp_path / "run").exists()
