"""``ctprof html`` loaded in headless Chromium: charts, no requests, escaping."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from ctprof.recording import RUN_FILES
from see_runs import HOSTILE_ARG, delta_run, pipeline_run, scaled_run, timeseries_run

from conftest import IN_CI, ctprof, read_samples

pytestmark = pytest.mark.slow

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-pings",
    "--disable-features=NetworkTimeServiceQuerying",
    # No host name resolves, so nothing the browser or page tries can leave
    # the machine. Requests are still attempted and show in the net log.
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--virtual-time-budget=10000",
)
# Browser-internal requests (updates, time, accounts) carry this initiator;
# anything a page requests carries the page's origin ("null" for file://).
BROWSER_INITIATOR = "not an origin"


def _chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        if IN_CI:
            raise AssertionError("chromium is missing; scripts/setup.sh installs it")
        pytest.skip("chromium is not installed")
    return path


def _browse(tmp_path, url: str, *flags: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
    command = [_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *flags, url]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


def _report(run: str, tmp_path) -> str:
    path = tmp_path / "report.html"
    proc = ctprof("html", run, "-o", str(path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(path)
    return str(path)


def _page_requests(netlog: str) -> list[str]:
    """Return the URLs of requests the page made, from a Chromium net log."""
    with open(netlog) as f:
        log = json.load(f)
    types = {v: k for k, v in log["constants"]["logEventTypes"].items()}
    urls = []
    for event in log["events"]:
        params = event.get("params") or {}
        # The job's begin event contains the URL and the initiator.
        if types.get(event["type"]) != "URL_REQUEST_START_JOB" or "url" not in params:
            continue
        if params.get("initiator") != BROWSER_INITIATOR:
            urls.append(params.get("url"))
    return urls


def _embedded_data(page: str) -> dict:
    match = re.search(
        r'<script type="application/json" id="ctprof-data">(.*?)</script>', page, re.S
    )
    assert match is not None
    return json.loads(match.group(1))


def test_html_renders_charts(tmp_path_factory, tmp_path):
    run = timeseries_run(tmp_path_factory)
    report = _report(run, tmp_path)
    dom = _browse(tmp_path, f"file://{report}", "--dump-dom").stdout
    assert 'data-ready="yes"' in dom
    data = _embedded_data(open(report).read())
    panels = sum(len(f["panels"]) for f in data["figures"])
    assert panels >= 6
    # Each plotly chart draws two main-svg layers; one more chart is the picker.
    assert dom.count('class="main-svg"') >= 2 * (panels + 1)
    options = re.findall(r"<option value=", dom)
    assert len(options) == len(data["series"])
    assert len(options) > 50
    assert "container.cpu_usage_seconds_total (seconds/s)" in dom


def test_html_screenshot(tmp_path_factory, tmp_path):
    """Keep a screenshot in the test's folder, for a person to look at."""
    run = timeseries_run(tmp_path_factory)
    report = _report(run, tmp_path)
    shot = tmp_path / "report.png"
    _browse(
        tmp_path, f"file://{report}", f"--screenshot={shot}", "--window-size=1300,2400"
    )
    with Image.open(shot) as image:
        assert image.size == (1300, 2400)
        pixels = np.asarray(image.convert("L"), dtype=float)
    assert pixels.std() > 20
    assert (pixels < 200).mean() > 0.02


def test_html_makes_no_request(tmp_path_factory, tmp_path):
    run = timeseries_run(tmp_path_factory)
    report = _report(run, tmp_path)
    netlog = tmp_path / "net.json"
    _browse(tmp_path, f"file://{report}", f"--log-net-log={netlog}", "--dump-dom")
    assert _page_requests(str(netlog)) == []
    # Control: the same check detects a request a page does make (to a closed
    # local port, refused at once).
    probe = tmp_path / "probe.html"
    probe.write_text('<img src="http://127.0.0.1:9/probe.png">')
    control = tmp_path / "control.json"
    _browse(tmp_path, f"file://{probe}", f"--log-net-log={control}", "--dump-dom")
    assert _page_requests(str(control)) == ["http://127.0.0.1:9/probe.png"]


def test_html_shows_script_as_text(tmp_path_factory, tmp_path):
    run = timeseries_run(tmp_path_factory)
    report = _report(run, tmp_path)
    page = open(report).read()
    assert HOSTILE_ARG not in page
    assert "&lt;script&gt;document.title=&#x27;pwned&#x27;&lt;/script&gt;" in page
    dom = _browse(tmp_path, f"file://{report}", "--dump-dom").stdout
    assert "<title>ctprof: series</title>" in dom
    assert "pwned</title>" not in dom
    # The command line is shown as text in the run table and process table.
    assert dom.count("&lt;script&gt;document.title='pwned'&lt;/script&gt;") >= 2


def test_html_process_table_sorts(tmp_path_factory, tmp_path):
    run = timeseries_run(tmp_path_factory)
    report = _report(run, tmp_path)
    url = f"file://{report}#sort=memory_peak_bytes"
    dom = _browse(tmp_path, url, "--dump-dom").stdout
    table = re.search(
        r'<table class="sortable" id="processes"[^>]*>.*?</table>', dom, re.S
    )
    assert table is not None
    assert 'data-sorted="5 desc"' in table.group(0)
    rows = re.findall(r"<tr>(.*?)</tr>", table.group(0), re.S)[1:]
    assert len(rows) >= 3
    peaks = [float(re.findall(r'data-v="([^"]*)"', row)[5]) for row in rows]
    assert peaks == sorted(peaks, reverse=True)


def test_html_large_run_downsampled(tmp_path_factory, tmp_path):
    """10,000 samples with 100 processes: under 10 MB, peaks kept, stated on the page."""
    run = scaled_run(tmp_path_factory)
    report = _report(run, tmp_path)
    size = os.path.getsize(report)
    assert size < 10 * 1024 * 1024, size
    page = open(report).read()
    assert 'id="downsampled"' in page
    assert "10,000 samples" in page
    data = _embedded_data(page)
    assert data["downsampled"]
    assert data["points"] == 1000
    assert len(data["x"]) == 1000
    samples = read_samples(run)
    usage = [s["container"]["memory_usage_bytes"] for s in samples]
    series = {s["column"]: s for s in data["series"]}
    displayed = series["container.memory_usage_bytes"]["y"]
    assert max(v for v in displayed if v is not None) == pytest.approx(
        max(usage), rel=1e-4
    )
    assert min(v for v in displayed if v is not None) == pytest.approx(
        min(usage), rel=1e-4
    )
    assert page.count("<tr><td") >= 100


def test_html_pipeline_and_delta_run(tmp_path_factory, tmp_path):
    pipe = pipeline_run(tmp_path_factory)
    report = _report(pipe, tmp_path)
    page = open(report).read()
    assert "<h3>prepare</h3>" in page
    assert "<h3>align</h3>" in page
    data = _embedded_data(page)
    assert [s[0] for s in data["spans"]] == ["prepare", "align"]
    delta_report = tmp_path / "delta.html"
    proc = ctprof("html", delta_run(tmp_path_factory), "-o", str(delta_report))
    assert proc.returncode == 0, proc.stderr
    data = _embedded_data(delta_report.read_text())
    assert data["delta"]
    assert all("bars" in p for f in data["figures"] for p in f["panels"])
    dom = _browse(tmp_path, f"file://{delta_report}", "--dump-dom").stdout
    assert 'data-ready="yes"' in dom


def test_html_rejects_bad_directory(tmp_path):
    proc = ctprof("html", str(tmp_path / "missing"))
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "not a run directory" in proc.stderr


def test_html_rejects_output_on_run_file(tmp_path_factory, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(timeseries_run(tmp_path_factory), run)
    (run / "marks.jsonl").touch()
    before = {path.name: path.read_bytes() for path in run.iterdir()}
    for name in RUN_FILES:
        proc = ctprof("html", str(run), "-o", str(run / name))
        assert proc.returncode == 2, name
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1, proc.stderr
        assert f"{run / name} is the {name} of a run directory" in lines[0]
    after = {path.name: path.read_bytes() for path in run.iterdir()}
    assert after == before
    report = ctprof("report", str(run))
    assert report.returncode == 0, report.stderr


def test_html_process_headings_match_report(tmp_path_factory, tmp_path):
    page = open(_report(timeseries_run(tmp_path_factory), tmp_path)).read()
    start = page.index('<table class="sortable" id="processes">')
    head = page[start : page.index("</thead>", start)]
    assert '<th data-key="rchar_bytes">read (rchar)</th>' in head
    assert '<th data-key="wchar_bytes">written (wchar)</th>' in head
    assert "()" not in head
