"""Performance harness: the workflow's speed and cost beside the engines it wraps (`make bench`).

Benchmarks measure; they assert nothing about time. `python -m benchmarks.run` runs them all and
writes benchmarks/RESULTS.md and benchmarks/results.json.
"""
