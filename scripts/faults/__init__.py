"""The fault runs of issue 14 (scripts/fault_runs.py): the lab, the floor, the faults."""
