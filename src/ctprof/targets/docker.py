"""A Docker container as a target, found through the Docker Engine API.

The container is resolved with the ``docker`` SDK (which honours DOCKER_HOST)
to its id, name, image, labels, limits and main pid. Its cgroup directories
come from /proc/PID/cgroup of the main pid joined with the mounted cgroup
hierarchies (collect/cgroupfs.py), so the cgroup driver and layout are
detected rather than assumed. ctprof only reads a container: it never stops,
pauses or changes one it attaches to.
"""

from __future__ import annotations

import logging
import os

from .. import catalog
from ..collect import cgroupfs as cg
from ..collect.cgroup_reader import CgroupReader
from ..errors import UsageError
from .base import Target
from .netns import NetnsThread

log = logging.getLogger(__name__)

DEFAULT_HOST = "unix:///var/run/docker.sock"


class DockerError(UsageError):
    """The engine cannot be reached, or the container cannot be found."""


def docker_host() -> str:
    return os.environ.get("DOCKER_HOST") or DEFAULT_HOST


def _connection_message(exc: Exception, host: str) -> str:
    text = repr(exc)
    cause = exc.__cause__ or exc.__context__
    while cause is not None:
        text += " " + repr(cause)
        cause = cause.__cause__ or cause.__context__
    where = host.removeprefix("unix://")
    if "FileNotFoundError" in text or "No such file" in text:
        return (
            f"Docker socket {where} not found; start the Docker engine, "
            "or set DOCKER_HOST to where it listens"
        )
    if "PermissionError" in text or "Permission denied" in text:
        return (
            f"permission denied on the Docker socket {where}; "
            "run ctprof as root or as a member of the docker group"
        )
    if "Connection refused" in text or "ConnectionRefusedError" in text:
        return (
            f"the Docker engine at {host} is not running (connection refused); "
            "start it, e.g. systemctl start docker"
        )
    return f"cannot reach the Docker engine at {host}: {exc}; check that it is running"


def connect(timeout: float = 30.0):
    """Return a ``docker.DockerClient`` whose engine replied to a ping."""
    import docker  # type: ignore[import-untyped]

    host = docker_host()
    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except docker.errors.DockerException as exc:
        raise DockerError(_connection_message(exc, host)) from None
    except OSError as exc:
        raise DockerError(_connection_message(exc, host)) from None
    return client


def _names(summary: dict) -> list[str]:
    return [n.lstrip("/") for n in summary.get("Names") or ()]


def find_container(client, ref: str) -> dict:
    """Return the inspect data of the container named or identified by ``ref``.

    ``ref`` is a full name or id, or a prefix of exactly one name or id.
    """
    import docker  # type: ignore[import-untyped]

    if not ref:
        raise DockerError("empty container name; give a container name or id")
    try:
        summaries = client.api.containers(all=True)
    except docker.errors.DockerException as exc:
        raise DockerError(
            f"listing containers at {docker_host()} failed: {exc}"
        ) from None
    exact = [c for c in summaries if c["Id"] == ref or ref in _names(c)]
    matches = exact or [
        c
        for c in summaries
        if c["Id"].startswith(ref) or any(n.startswith(ref) for n in _names(c))
    ]
    if not matches:
        raise DockerError(
            f"no container named {ref!r} or with an id starting with it at "
            f"{docker_host()}; list them with docker ps -a"
        )
    if len(matches) > 1:
        shown = ", ".join(
            f"{(_names(c) or ['?'])[0]} ({c['Id'][:12]})" for c in matches[:5]
        )
        raise DockerError(
            f"container prefix {ref!r} is ambiguous: it matches {shown}; "
            "give more characters of the name or id"
        )
    try:
        return client.api.inspect_container(matches[0]["Id"])
    except docker.errors.NotFound:
        raise DockerError(
            f"container {ref!r} was removed while ctprof looked it up"
        ) from None


def engine_facts(client) -> dict:
    """Return the engine version and the cgroup driver and version it reports."""
    facts: dict = {}
    try:
        version = client.version()
        facts["version"] = version.get("Version")
        facts["api_version"] = version.get("ApiVersion")
        info = client.info()
        facts["cgroup_driver"] = info.get("CgroupDriver")
        facts["cgroup_version"] = info.get("CgroupVersion")
    except Exception as exc:  # noqa: BLE001 - facts only, the run goes on
        log.warning("cannot read the Docker engine version: %s", exc)
    return facts


def _positive(value) -> int | None:
    return value if isinstance(value, int) and value > 0 else None


def container_limits(host_config: dict) -> dict:
    """Return the CPU, memory and pids limits set on a container; None = unlimited."""
    nano = _positive(host_config.get("NanoCpus"))
    quota = _positive(host_config.get("CpuQuota"))
    period = _positive(host_config.get("CpuPeriod"))
    cpus = None
    if nano is not None:
        cpus = nano / 1e9
    elif quota is not None:
        # Without --cpu-period the CFS period is the kernel default, 100 ms.
        cpus = quota / (period or 100_000)
    return {
        "cpus": cpus,
        "nano_cpus": nano,
        "cpu_quota_microseconds": quota,
        "cpu_period_microseconds": period,
        "cpu_shares": _positive(host_config.get("CpuShares")),
        "cpuset_cpus": host_config.get("CpusetCpus") or None,
        "memory_bytes": _positive(host_config.get("Memory")),
        "memory_swap_bytes": _positive(host_config.get("MemorySwap")),
        "pids_limit": _positive(host_config.get("PidsLimit")),
    }


def container_facts(attrs: dict) -> dict:
    """Return the facts about a container recorded in meta.json."""
    config = attrs.get("Config") or {}
    state = attrs.get("State") or {}
    return {
        "id": attrs["Id"],
        "name": (attrs.get("Name") or "").lstrip("/"),
        "image": config.get("Image"),
        "image_id": attrs.get("Image"),
        "labels": config.get("Labels") or {},
        "limits": container_limits(attrs.get("HostConfig") or {}),
        "started_at": state.get("StartedAt"),
        "network_mode": (attrs.get("HostConfig") or {}).get("NetworkMode"),
    }


def driver_from_path(cgroup_dir: str) -> str:
    """Return the cgroup driver a container's cgroup path shows.

    The systemd driver puts a container in a scope unit named
    docker-<id>.scope; the cgroupfs driver in a directory named by the id.
    """
    last = os.path.basename(cgroup_dir.rstrip("/"))
    return "systemd" if last.endswith(".scope") else "cgroupfs"


def expected_cgroup_path(attrs: dict, engine: dict) -> str | None:
    """Return the cgroup path the engine will give a created container.

    It follows from the cgroup driver the engine reports and the container's
    cgroup parent: /docker/ID (or PARENT/ID) with the cgroupfs driver, and
    /system.slice/docker-ID.scope (or the parent slice) with the systemd
    driver. None when the driver is neither.
    """
    parent = (attrs.get("HostConfig") or {}).get("CgroupParent") or ""
    container_id = attrs["Id"]
    driver = engine.get("cgroup_driver")
    if driver == "cgroupfs":
        top = "/" + parent.strip("/") if parent.strip("/") else "/docker"
        return f"{top}/{container_id}"
    if driver == "systemd":
        unit = parent or "system.slice"
        if not unit.endswith(".slice") or "/" in unit:
            return None
        # systemd places slice "a-b.slice" inside "a.slice": /a.slice/a-b.slice.
        parts = unit.removesuffix(".slice").split("-")
        path = "".join(
            "/" + "-".join(parts[: i + 1]) + ".slice" for i in range(len(parts))
        )
        return f"{path}/docker-{container_id}.scope"
    return None


def _cgroup_sources() -> set[str]:
    sources = {m.source for m in catalog.CONTAINER_METRICS if m.source != "net_dev"}
    return sources | {"cg_pressure"}


class _LateCgroupReader(CgroupReader):
    """A cgroup reader whose directories are known only once the container
    runs. The sampler keeps a reference to it from the start."""

    def __init__(self, fallback_dirs: dict[str, str] | None = None) -> None:
        super().__init__({}, fallback_dirs=fallback_dirs)

    def bind(self, dirs: dict[str, str]) -> None:
        CgroupReader.__init__(self, dirs, self.cache, fallback_dirs=self.fallback_dirs)

    def never_bound(self, reason: str) -> None:
        for source in _cgroup_sources():
            self.unavailable.setdefault(source, reason)


class DockerTarget(Target):
    """One container: its cgroup, its processes and its network namespace."""

    kind = "docker"

    def __init__(
        self,
        facts: dict,
        engine: dict | None = None,
        counters_start_at_zero: bool = False,
        proc_root: str = "/proc",
        cgroup_parent: dict | None = None,
    ) -> None:
        super().__init__()
        self.facts = facts
        self.engine = engine or {}
        self.counters_start_at_zero = counters_start_at_zero
        self.proc_root = proc_root
        # The container's cgroup parent as recorded in meta.json. When ctprof
        # created it, the end sample reads the totals from its "dirs" once the
        # engine has removed the container's cgroup.
        self.cgroup_parent = cgroup_parent
        fallback = (cgroup_parent or {}).get("dirs")
        self.reader: _LateCgroupReader = _LateCgroupReader(fallback)
        self.main_pid: int | None = None
        self.netns: NetnsThread | None = None
        self.network_note: str | None = None
        self.bind_error: str | None = None

    def bind_early(self, dirs: dict[str, str]) -> None:
        """Read the cgroup found before the engine reported the main pid."""
        self.reader.bind(dirs)

    def bind(self, pid: int, layout: cg.Layout) -> bool:
        """Find the cgroup and network namespace of the container's main pid.

        The cgroup of the main pid replaces one bound early. Returns False
        (and records why) when the process is gone and no cgroup was bound.
        """
        self.main_pid = pid
        try:
            if pid <= 0:
                raise FileNotFoundError(pid)
            dirs = cg.process_cgroup_dirs(layout, pid, self.proc_root)
        except FileNotFoundError:
            self.network_note = (
                "the container exited before its network namespace could be joined"
            )
            if self.reader.dirs:
                return True
            self.bind_error = "the container exited before its cgroup could be read"
            self.reader.never_bound(self.bind_error)
            return False
        if not dirs:
            self.bind_error = (
                f"the cgroup of pid {pid} is outside the cgroup mounts visible here"
            )
            self.reader.never_bound(self.bind_error)
            return False
        if dirs != self.reader.dirs:
            if self.reader.dirs:
                log.warning(
                    "the container's main pid %d is in %s, not in the expected %s; "
                    "reading the former",
                    pid,
                    dirs,
                    self.reader.dirs,
                )
            self.reader.bind(dirs)
        try:
            self.netns = NetnsThread(pid, self.proc_root)
        except OSError as exc:
            self.network_note = (
                f"{exc}; network is read from /proc/{pid}/net/dev while the "
                "main process lives"
            )
            log.warning("%s", self.network_note)
        return True

    def own_network_namespace(self) -> bool:
        """True when the engine creates a network namespace for the container
        (every network mode but host and container:NAME)."""
        mode = self.facts.get("network_mode") or ""
        return mode != "host" and not mode.startswith("container:")

    def netns_pid(self) -> int | None:
        if self.netns is not None:
            return self.netns.tid
        if self.main_pid:
            return self.main_pid
        return None

    def describe(self) -> dict:
        out = super().describe()
        out["container"] = self.facts
        out["engine"] = self.engine
        out["main_pid"] = self.main_pid
        out["counters_start_at_zero"] = self.counters_start_at_zero
        out["network_counters_start_at_zero"] = (
            self.counters_start_at_zero and self.own_network_namespace()
        )
        if self.reader.dirs:
            first = next(iter(self.reader.dirs.values()))
            out["cgroup_driver_detected"] = driver_from_path(first)
        if self.bind_error:
            out["bind_error"] = self.bind_error
        if self.cgroup_parent is not None:
            out["cgroup_parent"] = self.cgroup_parent
        if self.reader.parent_reads:
            out["samples_read_from_cgroup_parent"] = self.reader.parent_reads
        if self.network_note:
            out["network_note"] = self.network_note
        return out

    def missing_counters_reason(self) -> str:
        if self.reader.parent_reads:
            return (
                "the engine removed the container's cgroup before the end sample; "
                "the counters that include a removed child cgroup were read from "
                "the cgroup parent ctprof created, and these are not among them"
            )
        return (
            "the engine removed the container's cgroup before the end sample, "
            "and no cgroup parent created by ctprof keeps its totals"
        )

    def close(self) -> None:
        self.reader.close_parent()
        if self.netns is not None:
            self.netns.close()
            self.netns = None
