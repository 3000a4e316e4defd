"""``python -m bench [--repeat N]``: every benchmark in turn, then one table.

Start-up runs first, before any sandbox is started. Each benchmark
runs alone too: ``python -m bench.startup``, ``bench.overhead``,
``bench.dataframe``, ``bench.fetch_all``, ``bench.memory``.
"""

from bench import dataframe, fetch_all, memory, overhead, startup
from bench.report import main

main([startup, overhead, dataframe, fetch_all, memory], __doc__ or "")
