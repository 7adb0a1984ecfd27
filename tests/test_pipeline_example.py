"""The example pipeline (examples/rnaseq-like) end to end at its small size."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from ctprof.marks import read_marks

from conftest import IN_CI, needs_root, read_json

pytestmark = pytest.mark.slow

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUN_SH = os.path.join(ROOT, "examples", "rnaseq-like", "run.sh")
TOOLS = ("bwa", "samtools", "seqtk", "wgsim", "curl")


def test_example_pipeline_small(tmp_path):
    needs_root()
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing and not IN_CI:
        pytest.skip(f"example tools missing: {missing}; run.sh installs them")
    build = tmp_path / "build"
    proc = subprocess.run(
        ["bash", RUN_SH, "--small", "--build", str(build)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = build / "run"
    summary = read_json(run / "summary.json")

    names = [e["name"] for e in summary["stages"]]
    assert names == ["download", "split", "align", "merge"]
    assert all(e["exit_code"] == 0 for e in summary["stages"])
    stages = {e["name"]: e for e in summary["stages"]}

    reads_size = os.path.getsize(build / "served" / "reads.fq")
    assert os.path.getsize(build / "work" / "reads.fq") == reads_size
    download = stages["download"]["container"]
    assert download["network_receive_bytes"] >= reads_size

    align = stages["align"]["container"]
    assert align["cpu_seconds"] > stages["download"]["container"]["cpu_seconds"]
    chunks = sorted(p.name for p in (build / "work").glob("chunk_*.fq"))
    assert len(chunks) == 4
    marks = read_marks(str(run / stages["align"]["directory"]))
    assert [m.name for m in marks] == [f"align-{c[:-3]}" for c in chunks]

    flagstat = (build / "work" / "flagstat.txt").read_text()
    assert "mapped (" in flagstat
    assert (build / "work" / "aligned.sorted.bam.bai").exists()
    assert "Pipeline rnaseq-like: stages" in proc.stderr
