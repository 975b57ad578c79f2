"""The worker's two detection engines, for tests that run on both (NICHEWATCH_ENGINE)."""

from __future__ import annotations

import pytest

from streams._native import NativeEngine
from tests.events_factory import post_bytes


def native_ported() -> bool:
    """Whether the native engine's detection modules are in the extension (they panic until then)."""
    try:
        NativeEngine(niches=[("pens", ["fountainpens"])]).process_records([(b"instagram:inkjournal", post_bytes())])
    except BaseException:  # pyo3's PanicException derives from BaseException
        return False
    return True


needs_native_detection = pytest.mark.skipif(
    not native_ported(), reason="the native detection modules are not in the extension yet"
)

# Parameters of a test or fixture that runs a worker on each engine.
ENGINES = ["python", pytest.param("native", marks=needs_native_detection)]
