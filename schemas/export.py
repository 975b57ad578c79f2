"""Export JSON Schema files for every event from the pydantic models.

Regenerate after changing a model::

    python -m schemas.export            # writes schemas/*.schema.json
    python -m schemas.export --check    # exits 1 when the checked-in files drift

Downstream consumers read these files; a unit test fails when they drift from the models.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pydantic import BaseModel

from schemas.events import (
    SCHEMA_VERSION,
    AccountSnapshot,
    FollowerSpikeAlert,
    InfluencerProfile,
    NicheDefinition,
    Post,
)
from schemas.niche_tags import NicheTagReport

SCHEMA_DIR = Path(__file__).resolve().parent

# file stem -> (model, mode): inputs are described as accepted, outputs as produced.
EXPORTED: dict[str, tuple[type[BaseModel], str]] = {
    "post": (Post, "validation"),
    "account_snapshot": (AccountSnapshot, "validation"),
    "niche_definition": (NicheDefinition, "validation"),
    "follower_spike_alert": (FollowerSpikeAlert, "serialization"),
    "influencer_profile": (InfluencerProfile, "serialization"),
    "niche_tag_report": (NicheTagReport, "serialization"),
}


def render_schemas() -> dict[str, str]:
    """File name -> JSON text, deterministic so that a diff means a model change."""
    rendered = {}
    for stem, (model, mode) in EXPORTED.items():
        schema = model.model_json_schema(mode=mode)  # type: ignore[arg-type]
        schema["$id"] = f"https://nichewatch.invalid/schemas/{stem}.v{SCHEMA_VERSION}.schema.json"
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        rendered[f"{stem}.schema.json"] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return rendered


def drifted_files(directory: Path = SCHEMA_DIR) -> list[str]:
    """Names of exported files that are missing or differ from the models."""
    return [
        name
        for name, text in render_schemas().items()
        if not (directory / name).is_file() or (directory / name).read_text(encoding="utf-8") != text
    ]


def write_schemas(directory: Path = SCHEMA_DIR) -> list[Path]:
    paths = []
    for name, text in render_schemas().items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m schemas.export", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report drift, write nothing")
    args = parser.parse_args(argv)
    if args.check:
        drift = drifted_files()
        for name in drift:
            print(f"schemas/{name} is out of date; run python -m schemas.export", file=sys.stderr)
        return 1 if drift else 0
    for path in write_schemas():
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
