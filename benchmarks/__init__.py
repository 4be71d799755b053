"""Benchmarks of retention_kit side by side with lifetimes (run ``python -m benchmarks``).

`benchmarks.data` draws synthetic customer bases from the BG/NBD, Pareto/NBD, BG/BB and
gamma-gamma models (cached as ``.npz`` under ``benchmarks/results/cache``), `benchmarks.cases`
defines each operation for each library, and `benchmarks.runner` times them, measures memory,
checks that the answers agree and prints a markdown table. Results: docs/performance.md.
"""
