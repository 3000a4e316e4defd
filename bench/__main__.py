"""``python -m bench [--repeat N]``: every benchmark in turn, then one table.

Start-up runs first, before any sandbox is started. Each benchmark
runs alone too: ``python -m bench.startup``, ``bench.overhead``,
``bench.dataframe``, ``bench.fetch_all``, ``bench.memory``,
``bench.sla_search``, ``bench.jql_parallel``.
"""

from bench import dataframe, fetch_all, jql_parallel, memory, overhead, sla_search, startup
from bench.report import main

main(
    [startup, overhead, dataframe, fetch_all, memory, sla_search, jql_parallel],
    __doc__ or "",
)
