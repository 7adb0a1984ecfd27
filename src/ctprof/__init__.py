"""ctprof: a profiler for containers, commands and pipelines.

It records CPU by mode, memory, disk, network and processes at three levels
(host, container cgroup, each process), as exact deltas or as time series.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .api import Run, load

__all__ = ["Run", "__version__", "load"]
