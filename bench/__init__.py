"""Benchmarks of the node (not tests): run with ``make bench``; method and figures in docs/PERFORMANCE.md."""
