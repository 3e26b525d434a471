"""Benchmarks: scripts that print a ratio against a baseline run in the same process.

Not part of the tests and not installed; run them from the repository root
(``python -m bench.pipeline``) so RQ can import ``bench.*`` job functions.
"""
