"""Resume after a restart: cursors and tracked posts in a state file, one per source.

The collectors keep their position in a JSON file under ``NICHEWATCH_COLLECTOR_STATE_DIR``
(``mastodon.json``, ``bluesky.json``) rather than in a compacted topic: a collector is one
process per source, the file is small (cursors plus the bounded set of tracked posts), and
it works the same with ``--out FILE.jsonl`` when no broker is involved.

Order matters for at-least-once: the sink is flushed first, then the file is replaced
atomically (write to a temporary file, fsync, rename). A crash between the two re-reads at
most one pass, and posts already tracked are never published again as new.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import orjson

log = logging.getLogger(__name__)

STATE_VERSION = 1


class StateFile:
    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, Any]:
        """The saved state, or an empty one when there is none (or it cannot be read)."""
        try:
            data = orjson.loads(self.path.read_bytes())
        except FileNotFoundError:
            return {}
        except (OSError, orjson.JSONDecodeError) as exc:
            log.warning("%s: unreadable state (%s); starting without it", self.path, exc)
            return {}
        if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
            log.warning("%s: unknown state version; starting without it", self.path)
            return {}
        return data

    def save(self, state: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "wb") as out:
            out.write(orjson.dumps({**state, "version": STATE_VERSION}))
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.path)
