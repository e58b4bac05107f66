"""The log engine (docs/logs.md): access-log reports in Polars, error-log templates in Drain3.

Polars' allocator (jemalloc) keeps freed pages for half a second by default; a report reads
a chunk, reduces it and drops it many times a second, so those pages piled up into the peak
RSS (~90 MB at a million lines). They are handed back after 100 ms here, unless the user set
their own ``_RJEM_MALLOC_CONF``. It must happen before Polars is first imported.
"""

import os

os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:100,muzzy_decay_ms:0")
