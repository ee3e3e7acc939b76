"""libcce's log records and wire traces in Python's :mod:`logging`.

Records go to the logger ``libcce`` and its children: ``libcce.wire`` for wire traces
(session option ``trace=True``), ``libcce.ece.http``, ``libcce.cti.client`` and so on
for the library's modules. Levels map to ``logging.ERROR``, ``WARNING``, ``INFO``,
``DEBUG`` and :data:`TRACE` (5).

The library filters records before they reach Python: only records at or above the
level set with :func:`set_log_level` are handed over (on import: the effective level
of the ``libcce`` logger, usually ``WARNING``), so disabled logging costs no GIL.
Records are delivered by a library thread; :func:`flush_logs` delivers the ones
still queued at once. Secrets (passwords, tokens) never appear in records.

Example::

    import logging, libcce
    logging.basicConfig(level=logging.INFO)
    libcce.set_log_level(logging.INFO)   # or set_log_level() to follow the logger
"""

from __future__ import annotations

import atexit
import logging
from typing import Optional

from . import _native

LOGGER = "libcce"
"""Name of the parent logger of every libcce record."""

TRACE = 5
"""Python level of the library's TRACE records (below ``logging.DEBUG``)."""

_OFF = logging.CRITICAL + 1


def set_log_level(level: Optional[int] = None) -> None:
    """Hands the library's records at ``level`` and above to :mod:`logging`.

    ``None`` takes the effective level of the ``libcce`` logger now; a level above
    ``logging.ERROR`` turns the bridge off.
    """
    if level is None:
        level = logging.getLogger(LOGGER).getEffectiveLevel()
    _native.set_log_level(int(level))


def flush_logs() -> None:
    """Delivers the records queued so far to :mod:`logging` on this thread."""
    _native.flush_logs()


def metrics_text() -> str:
    """Every live CTI session's counters in the Prometheus text format (for ``/metrics``)."""
    return _native.metrics_text()


set_log_level()
# No record is handed to Python while the interpreter shuts down.
atexit.register(_native.set_log_level, _OFF)
