"""Multi-stage pipelines: the pipeline file, the stage runner and its summary."""
