"""Targets: which cgroup and which processes a run reads.

A target does not take samples itself. It gives the sampler a CgroupReader (or
None), the pids to read at the process level, and a pid whose network
namespace is the target's.
"""

from .base import Target

__all__ = ["Target"]
