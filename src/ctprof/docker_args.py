"""Parse the ``docker run`` options given to ``ctprof docker-run``.

The options are turned into keyword arguments of the docker SDK's
``containers.create``. Option names, value forms and size units follow the
docker CLI's ``docker run --help`` (Docker 20.10). Options outside the table
below are rejected with their name, rather than guessed at.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from .errors import UsageError

FLAG = "flag"
VALUE = "value"

# Options ctprof translates: long name -> (short name or None, FLAG or VALUE).
OPTIONS: dict[str, tuple[str | None, str]] = {
    "--name": (None, VALUE),
    "--rm": (None, FLAG),
    "--env": ("-e", VALUE),
    "--volume": ("-v", VALUE),
    "--memory": ("-m", VALUE),
    "--memory-swap": (None, VALUE),
    "--cpus": (None, VALUE),
    "--cpu-quota": (None, VALUE),
    "--cpu-period": (None, VALUE),
    "--cpu-shares": ("-c", VALUE),
    "--cpuset-cpus": (None, VALUE),
    "--network": (None, VALUE),
    "--net": (None, VALUE),
    "--entrypoint": (None, VALUE),
    "--workdir": ("-w", VALUE),
    "--user": ("-u", VALUE),
    "--label": ("-l", VALUE),
    "--pids-limit": (None, VALUE),
    "--hostname": ("-h", VALUE),
    "--init": (None, FLAG),
    "--read-only": (None, FLAG),
    "--privileged": (None, FLAG),
    "--tmpfs": (None, VALUE),
    "--shm-size": (None, VALUE),
    "--cap-add": (None, VALUE),
    "--cap-drop": (None, VALUE),
    "--cgroup-parent": (None, VALUE),
}
_SHORT = {short: long for long, (short, _) in OPTIONS.items() if short}

# Options that make no sense when ctprof follows the container, with the reason.
REJECTED = {
    "--detach": "ctprof docker-run follows the container to its exit, so -d/--detach "
    "is meaningless here; drop it, or start the container with docker run -d and "
    "profile it with ctprof attach",
    "--interactive": "ctprof docker-run does not connect stdin; drop -i/--interactive",
    "--tty": "ctprof docker-run does not allocate a terminal; drop -t/--tty",
}
_REJECTED_SHORT = {"-d": "--detach", "-i": "--interactive", "-t": "--tty"}

# Docker sizes: a number, an optional binary unit letter, then optional "i", "b".
_SIZE = re.compile(r"^(\d+(?:\.\d+)?) ?([kmgtp])?i?b?$", re.IGNORECASE)
_UNITS = {None: 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


@dataclass
class RunSpec:
    """Arguments of ``containers.create`` and the --rm flag of one docker run."""

    image: str
    command: list[str]
    create: dict = field(default_factory=dict)
    remove: bool = False


def parse_size(option: str, text: str) -> int:
    """Parse a docker size such as 64m or 1.5g (binary units) into bytes."""
    match = _SIZE.match(text.strip())
    if match is None:
        raise UsageError(
            f"invalid size {text!r} for {option}; give bytes or a number with "
            f"b, k, m or g, e.g. {option} 64m"
        )
    unit = match.group(2).lower() if match.group(2) else None
    return int(float(match.group(1)) * _UNITS[unit])


def _int(option: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise UsageError(
            f"invalid value {text!r} for {option}; give an integer"
        ) from None


def _cpus(text: str) -> int:
    try:
        cpus = float(text)
    except ValueError:
        cpus = -1.0
    if not cpus > 0 or cpus == float("inf"):
        raise UsageError(
            f"invalid value {text!r} for --cpus; give a positive number of CPUs, "
            "e.g. --cpus 0.5"
        )
    return round(cpus * 1e9)


def _bool(option: str, text: str | None) -> bool:
    if text is None or text.lower() == "true":
        return True
    if text.lower() == "false":
        return False
    raise UsageError(f"invalid value {text!r} for {option}; give true or false")


def _short_cluster(token: str) -> list[tuple[str, str | None]]:
    """Expand "-e", "-eKEY=V", "-e=KEY=V" and flag clusters such as "-it",
    as the docker CLI's option parser (pflag) accepts them."""
    out: list[tuple[str, str | None]] = []
    letters = token[1:]
    for index, letter in enumerate(letters):
        short = "-" + letter
        long = _SHORT.get(short) or _REJECTED_SHORT.get(short)
        if long is None:
            raise UsageError(
                f"unknown docker run option {short!r} (in {token!r}); "
                f"ctprof docker-run supports {supported()}"
            )
        rest = letters[index + 1 :]
        if long in OPTIONS and OPTIONS[long][1] == VALUE:
            out.append((long, rest.removeprefix("=") if rest else None))
            return out
        out.append((long, None))
    return out


def supported() -> str:
    return ", ".join(OPTIONS)


def _check_known(option: str) -> None:
    if option in REJECTED:
        raise UsageError(REJECTED[option])
    if option not in OPTIONS:
        raise UsageError(
            f"unknown docker run option {option!r}; ctprof docker-run supports "
            f"{supported()}; for other options create the container with docker "
            "create, then use ctprof attach"
        )


def _split_options(args: list[str]) -> tuple[list[tuple[str, str | None]], list[str]]:
    """Return the (option, value) pairs and the arguments from IMAGE on."""
    pairs: list[tuple[str, str | None]] = []
    i = 0
    while i < len(args):
        token = args[i]
        if token == "--":
            i += 1
            break
        if not token.startswith("-") or token == "-":
            break
        if token.startswith("--"):
            name, sep, inline = token.partition("=")
            items = [(name, inline if sep else None)]
        else:
            items = _short_cluster(token)
        for name, value in items:
            _check_known(name)
            if OPTIONS[name][1] == VALUE and value is None:
                i += 1
                if i >= len(args):
                    raise UsageError(f"docker run option {name} needs a value")
                value = args[i]
            pairs.append((name, value))
        i += 1
    return pairs, args[i:]


def parse_run_args(args: list[str]) -> RunSpec:
    """Turn ``[OPTIONS] IMAGE [COMMAND...]`` into a RunSpec."""
    pairs, rest = _split_options(list(args))
    if not rest:
        raise UsageError(
            "missing IMAGE after the docker run options, "
            "e.g. ctprof docker-run -- --rm busybox true"
        )
    spec = RunSpec(image=rest[0], command=rest[1:])
    for option, value in pairs:
        _apply(spec, option, value)
    return spec


def _key_value(text: str) -> tuple[str, str]:
    key, _, value = text.partition("=")
    return key, value


def _apply(spec: RunSpec, option: str, value: str | None) -> None:
    create = spec.create
    text = value or ""
    if OPTIONS[option][1] == FLAG:
        flag = _bool(option, value)
        if option == "--rm":
            spec.remove = flag
        else:
            create[option.lstrip("-").replace("-", "_")] = flag
    elif option == "--env":
        if "=" not in text:
            # As docker run does: "-e NAME" passes NAME from this environment,
            # and nothing when NAME is unset here.
            if text not in os.environ:
                return
            text = f"{text}={os.environ[text]}"
        create.setdefault("environment", []).append(text)
    elif option == "--label":
        key, label = _key_value(text)
        create.setdefault("labels", {})[key] = label
    elif option == "--tmpfs":
        path, _, mount_options = text.partition(":")
        create.setdefault("tmpfs", {})[path] = mount_options
    elif option in ("--volume", "--cap-add", "--cap-drop"):
        key = {"--volume": "volumes"}.get(option, option.lstrip("-").replace("-", "_"))
        create.setdefault(key, []).append(text)
    elif option in ("--memory", "--shm-size"):
        key = {"--memory": "mem_limit"}.get(option, "shm_size")
        create[key] = parse_size(option, text)
    elif option == "--memory-swap":
        create["memswap_limit"] = -1 if text == "-1" else parse_size(option, text)
    elif option == "--cpus":
        create["nano_cpus"] = _cpus(text)
    elif option in ("--cpu-quota", "--cpu-period", "--cpu-shares", "--pids-limit"):
        create[option.lstrip("-").replace("-", "_")] = _int(option, text)
    elif option == "--entrypoint":
        # docker run takes the whole value as the program, never splitting it.
        create["entrypoint"] = [text]
    else:
        key = {
            "--name": "name",
            "--cpuset-cpus": "cpuset_cpus",
            "--network": "network_mode",
            "--net": "network_mode",
            "--workdir": "working_dir",
            "--user": "user",
            "--hostname": "hostname",
            "--cgroup-parent": "cgroup_parent",
        }[option]
        create[key] = text
