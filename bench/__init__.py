"""Benchmarks of jsm_nb against a plain requests loop and atlassian-python-api.

``python -m bench`` runs them all and prints one table; each module runs alone
too (``python -m bench.fetch_all``). See docs/BENCHMARKS.md.
"""
