"""The pure detection engine: no Faust, Kafka or Prometheus imports (a test enforces it)."""

from streams.core.config import EngineConfig, TierBounds
from streams.core.engine import Engine, EngineStats, Output
from streams.core.state import AccountState

__all__ = ["AccountState", "Engine", "EngineConfig", "EngineStats", "Output", "TierBounds"]
