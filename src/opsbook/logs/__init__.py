"""The log engine (docs/logs.md): access-log reports in Polars, error-log templates in Drain3.

Polars' allocator (jemalloc) is tuned here, before Polars is first imported, unless the user
set their own ``_RJEM_MALLOC_CONF``. A report reads a chunk, reduces it and drops it many
times a second: with jemalloc's defaults (an arena per 4 threads per CPU, freed pages kept
half a second) those pages piled up into the peak RSS (~90 MB at a million lines), and
handing them back sooner cost page faults (sys time ~15 % of the run). One arena reuses what
a chunk freed for the next at once: 6 % faster and ~10 MB less than eight arenas with a
100 ms decay (bench/README.md); with one arena the decay hardly matters (200 ms ~ 1 s).
"""

import os

os.environ.setdefault("_RJEM_MALLOC_CONF", "narenas:1,dirty_decay_ms:200,muzzy_decay_ms:0")
