"""Benchmarks: ``scripts/bench [name ...]`` runs them; docs/performance.md has results.

Every benchmark prints its figures next to a baseline measured in the same run
on the same machine (a raw ``COPY``, a trivial view, a plain ``UPDATE``), and
the ratio between the two: the VM this runs on is noisy (±30% between runs),
and the ratio is what stays comparable.
"""
