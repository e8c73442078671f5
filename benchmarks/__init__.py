"""Benchmarks for newsdigest: run with ``python -m benchmarks.<name>`` from the project root."""
