"""How long each step of an import takes, logged at DEBUG on `oneroster_sync.timing` (the benchmarks read it)."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator

timing = logging.getLogger("oneroster_sync.timing")


@contextlib.contextmanager
def timed(step: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    timing.debug("%s: %.3fs", step, time.perf_counter() - started)
