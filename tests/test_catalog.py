"""The metric catalog: naming conventions, and the README tables built from it."""

from __future__ import annotations

import os
import re

from ctprof import catalog
from ctprof.render import metric_tables

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def test_names_follow_prometheus_conventions():
    for m in catalog.ALL_METRICS:
        assert _NAME.match(m.name), m.name
        if m.kind == catalog.COUNTER:
            assert m.name.endswith("_total"), m.name
        else:
            assert not m.name.endswith("_total"), m.name
        if m.unit in ("seconds", "bytes"):
            assert f"_{m.unit}" in m.name, m.name


def test_names_unique_per_level():
    keys = [(m.level, m.name) for m in catalog.ALL_METRICS]
    assert len(keys) == len(set(keys))


def test_every_metric_has_a_description_and_source():
    for m in catalog.ALL_METRICS:
        assert m.description, m.name
        assert m.source, m.name


def test_column_names_round_trip():
    column = catalog.column_name(catalog.HOST, "disk_read_bytes_total", "vda")
    assert column == "host.disk_read_bytes_total[vda]"
    assert catalog.parse_column_name(column) == ("host", "disk_read_bytes_total", "vda")
    assert catalog.metric_for_column(column).unit == "bytes"


def test_readme_tables_match_catalog():
    with open(os.path.join(ROOT, "README.md")) as f:
        text = f.read()
    assert metric_tables.BEGIN in text, "README lacks the metric tables"
    assert metric_tables.replace_in(text) == text, (
        "README metric tables are out of date: "
        "run python -m ctprof.render.metric_tables --write README.md"
    )
