"""Human-readable units for tables and axes."""

from __future__ import annotations


def human_bytes(value: float | None) -> str:
    if value is None:
        return "n/a"
    sign = "-" if value < 0 else ""
    value = abs(float(value))
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return (
                f"{sign}{value:.0f} {unit}"
                if unit == "B"
                else f"{sign}{value:.1f} {unit}"
            )
        value /= 1024
    return f"{sign}{value:.1f} PiB"


def human_seconds(value: float | None) -> str:
    if value is None:
        return "n/a"
    if abs(value) < 1e-3:
        return f"{value * 1e6:.0f} µs"
    if abs(value) < 1:
        return f"{value * 1e3:.1f} ms"
    if abs(value) < 120:
        return f"{value:.2f} s"
    minutes, seconds = divmod(value, 60)
    if minutes < 120:
        return f"{int(minutes)} min {seconds:.0f} s"
    hours, minutes = divmod(minutes, 60)
    return f"{int(hours)} h {int(minutes)} min"


def human_count(value: float | None) -> str:
    if value is None:
        return "n/a"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}"


def human_percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} %"


def format_unit(value: float | None, unit: str) -> str:
    """Format a value in a catalog unit."""
    if unit == "bytes":
        return human_bytes(value)
    if unit == "seconds":
        return human_seconds(value)
    return human_count(value)
