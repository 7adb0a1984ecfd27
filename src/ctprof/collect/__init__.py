"""Readers of kernel files: /proc (procfs) and cgroup v1/v2 (cgroupfs).

Readers know nothing of runs or targets. Each takes its root directory as a
parameter so that tests point it at a fixture tree.
"""
