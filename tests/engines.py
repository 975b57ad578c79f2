"""The worker's two detection engines, for tests that run on both (NICHEWATCH_ENGINE)."""

from __future__ import annotations

# Parameters of a test or fixture that runs a worker on each engine.
ENGINES = ["python", "native"]
