"""What the service builds at start-up stays out of the garbage collector's full collections.

CPython's collector stops the event loop for each collection, and a full one (generation 2)
walks every container object alive. A started service holds about 240,000 of them, nearly all
built once at start-up and kept for its whole life (modules, the database's metadata, the
settings, IVR flows, the hub): measured on the 2-core benchmark machine, one full collection
took 120 to 480 ms, and during a run of 100 calls at once two of them stopped the loop for
360 ms each, in the middle of offers on their way to the agent's phone (docs/benchmarks.md,
"ACD: from the caller's key to the Dial"). :func:`start_up_frozen` collects once, then moves
everything alive into the permanent generation (``gc.freeze``), so that full collections walk
only what the calls themselves leave behind; it gives it back (``gc.unfreeze``) when the
service stops, so that a process that starts and stops the app many times (the tests) does
not keep every stopped app's objects.
"""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import Iterator

log = logging.getLogger(__name__)


@contextlib.contextmanager
def start_up_frozen() -> Iterator[None]:
    """Enter once the service is started; full collections skip what was alive then."""
    gc.collect()  # start-up's own garbage first: frozen objects are never collected
    gc.freeze()
    log.info("%d objects of the start-up frozen out of full collections", gc.get_freeze_count())
    try:
        yield
    finally:
        gc.unfreeze()
