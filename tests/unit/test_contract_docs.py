"""docs/contract.md, docs/samples/ and examples/ agree with the code, so they cannot drift."""

from __future__ import annotations

import ast
import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest
from pydantic import BaseModel

from schemas.codec import decode_event, encode
from schemas.events import SCHEMA_VERSION
from schemas.export import EXPORTED, SCHEMA_DIR
from schemas.samples import BLOCK, CONTRACT, REPO_ROOT, SAMPLE_DIR, drifted, render_samples, sample_models
from streams.dlq import dlq_headers
from streams.settings import Settings
from streams.topics import topic_specs

EXAMPLE = REPO_ROOT / "examples" / "consume_alerts.py"
# | `topic` | key | value | cleanup | written by |
TOPIC_ROW = re.compile(r"^\|\s*`(?P<name>[\w.-]+)`\s*\|[^|\n]*\|[^|\n]*\|\s*(?P<cleanup>[^|\n]+?)\s*\|[^\n]*\|$", re.MULTILINE)
HEADER_ROW = re.compile(r"^\|\s*`(?P<name>nichewatch-[\w-]+)`\s*\|", re.MULTILINE)
TOPIC_FIELDS = ("topic_posts", "topic_snapshots", "topic_niches", "topic_alerts", "topic_influencers", "topic_dlq")


def contract() -> str:
    return CONTRACT.read_text(encoding="utf-8")


def default_settings() -> Settings:
    # Field defaults, not the environment: the doc describes the defaults.
    return Settings.model_construct(**{name: Settings.model_fields[name].default for name in TOPIC_FIELDS})


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("consume_alerts_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- samples ------------------------------------------------------------------------------


def test_samples_and_doc_blocks_match_the_generator() -> None:
    assert drifted() == [], "run python -m schemas.samples and commit the result"


def test_no_stale_sample_files() -> None:
    assert {p.name for p in SAMPLE_DIR.glob("*.json")} == set(render_samples())


def test_every_sample_is_embedded_in_the_contract_once() -> None:
    embedded = [m["stem"] for m in BLOCK.finditer(contract())]
    assert sorted(embedded) == sorted(stem for stem in sample_models())


def test_a_changed_block_is_detected(tmp_path: Path) -> None:
    doc = tmp_path / "contract.md"
    doc.write_text(contract().replace('"schema_version": 1', '"schema_version": 7', 1), encoding="utf-8")
    assert drifted(SAMPLE_DIR, doc) == ["docs/contract.md"]


def test_there_is_one_sample_for_each_exported_schema() -> None:
    assert set(sample_models()) == set(EXPORTED)
    for stem, model in sample_models().items():
        assert type(model) is EXPORTED[stem][0]


@pytest.mark.parametrize("stem", sorted(EXPORTED))
def test_sample_file_validates_against_its_model(stem: str) -> None:
    raw = (SAMPLE_DIR / f"{stem}.json").read_bytes()
    model_cls: type[BaseModel] = EXPORTED[stem][0]
    if stem in ("post", "account_snapshot"):
        parsed = decode_event(raw)  # the workers' own decoder, with its extra checks
        assert type(parsed) is model_cls
    else:
        parsed = model_cls.model_validate_json(raw)
    # Nothing in the file is dropped or altered by the model.
    assert json.loads(encode(parsed)) == json.loads(raw)


@pytest.mark.parametrize("stem", sorted(EXPORTED))
def test_sample_fields_match_the_json_schema(stem: str) -> None:
    sample = json.loads((SAMPLE_DIR / f"{stem}.json").read_text(encoding="utf-8"))
    schema = json.loads((SCHEMA_DIR / f"{stem}.schema.json").read_text(encoding="utf-8"))
    assert set(schema.get("required", [])) <= set(sample)
    assert set(sample) <= set(schema["properties"])


def test_json_schema_links_point_at_files() -> None:
    links = set(re.findall(r"\]\(\.\./(schemas/[\w.]+\.schema\.json)\)", contract()))
    assert links == {f"schemas/{stem}.schema.json" for stem in EXPORTED}
    for link in links:
        assert (REPO_ROOT / link).is_file(), link


# --- names the doc shares with the code ---------------------------------------------------


def test_topic_table_matches_settings_defaults_and_cleanup() -> None:
    documented = {m["name"]: m["cleanup"] for m in TOPIC_ROW.finditer(contract())}
    expected = {}
    for spec in topic_specs(default_settings()):
        expected[spec.name] = "compact" if spec.compacted else f"delete ({spec.retention_days}d)"
    assert documented == expected


def test_dlq_header_names_match_the_code() -> None:
    declared = [name for name, _ in dlq_headers("reason", "posts.raw", 0, 0)]
    dead_letters = contract().split("## Dead letters", 1)[1].split("\n## ", 1)[0]
    assert HEADER_ROW.findall(dead_letters) == declared


def test_current_schema_version_is_documented() -> None:
    assert f"today it is `{SCHEMA_VERSION}`" in contract()


# --- the example consumer -----------------------------------------------------------------


def test_example_imports_only_kafka_python_and_the_standard_library() -> None:
    tree = ast.parse(EXAMPLE.read_text(encoding="utf-8"))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            roots.add(node.module.split(".")[0])
    assert roots - {"__future__"} - sys.stdlib_module_names == {"kafka"}


def test_example_defaults_match_the_code() -> None:
    example = load_example()
    settings = default_settings()
    assert example.ALERTS_TOPIC == settings.topic_alerts
    assert example.INFLUENCERS_TOPIC == settings.topic_influencers
    assert SCHEMA_VERSION in example.KNOWN_SCHEMA_VERSIONS


def test_example_reads_the_samples_ignores_unknown_fields_and_refuses_unknown_versions() -> None:
    example = load_example()
    for stem, kind in (("follower_spike_alert", "follower_spike_alert"), ("influencer_profile", "influencer_profile")):
        sample = json.loads((SAMPLE_DIR / f"{stem}.json").read_text(encoding="utf-8"))
        assert example.parse(json.dumps(sample).encode(), kind) == sample
        extended = {**sample, "added_in_a_minor_change": {"x": 1}}
        assert example.parse(json.dumps(extended).encode(), kind)["alert_id" if "alert" in stem else "profile_id"]
        with pytest.raises(ValueError, match="unsupported schema_version"):
            example.parse(json.dumps({**sample, "schema_version": SCHEMA_VERSION + 1}).encode(), kind)
    assert example.parse(None, "influencer_profile") is None


# --- the decoding rules state the limits the decoder enforces -------------------------------


def test_decoding_rules_state_the_decoders_limits() -> None:
    from typing import get_args

    from schemas.codec import MAX_NESTING_DEPTH, MAX_PAYLOAD_BYTES
    from schemas.events import COUNT_LIMIT, EARLIEST, MAX_FUTURE_SECONDS, MAX_TAG_CHARS, MAX_TAGS, MAX_TEXT_CHARS
    from streams.dlq import MAX_REASON_BYTES
    from streams.metrics import DlqReason, SkipReason
    from streams.pipeline import DLQ_MAX_KEY_BYTES, DLQ_MAX_VALUE_BYTES

    doc = contract()
    rules = doc[doc.index("## Decoding rules"):doc.index("## Dead letters")]
    assert f"{MAX_PAYLOAD_BYTES:,} bytes" in rules and f"exceeds {MAX_PAYLOAD_BYTES} bytes" in rules
    assert f"nested at most {MAX_NESTING_DEPTH} levels" in rules and f"more than {MAX_NESTING_DEPTH} levels" in rules
    assert COUNT_LIMIT == 2**53 and "`< 2**53`" in rules
    assert MAX_FUTURE_SECONDS == 86_400 and "at most one day after" in rules
    assert EARLIEST.isoformat().replace("+00:00", "Z") in rules
    assert f"`text` at most {MAX_TEXT_CHARS:,}" in rules
    assert f"`tags` at most {MAX_TAGS} strings of at most {MAX_TAG_CHARS} characters" in rules
    for reason in get_args(DlqReason):
        assert f"`{reason}`" in rules or reason == "late", reason  # "late" is the engine's, not the decoder's
    for reason in get_args(SkipReason):
        assert f"`{reason}`" in rules, reason
    dead_letters = doc[doc.index("## Dead letters"):]
    assert f"longer than {DLQ_MAX_VALUE_BYTES:,} bytes is cut to its first {DLQ_MAX_VALUE_BYTES:,}" in dead_letters
    assert f"longer than {DLQ_MAX_KEY_BYTES:,} bytes to its first {DLQ_MAX_KEY_BYTES:,}" in dead_letters
    assert f"at most {MAX_REASON_BYTES} bytes" in dead_letters
