from __future__ import annotations

import argparse
from pathlib import Path

import orjson
import pytest

from streams.commands import replay as replay_command
from streams.core.tags import normalise_tag
from streams.feeds.catalogue import GENERIC_TRACKED_TAG as FIRST_GENERIC_TRACKED
from streams.feeds.families import FAMILIES
from streams.feeds.second_family.world import GENERIC_TRACKED_TAG as SECOND_GENERIC_TRACKED

GENERIC_TRACKED = {"first": FIRST_GENERIC_TRACKED, "second": SECOND_GENERIC_TRACKED}
ROW_FIELDS = {"tag", "tracked", "posts", "accounts", "specificity", "generic", "median_followers",
              "median_engagement_rate"}


def _replay_tags(tmp_path: Path, family: str, drop: str | None = None) -> dict:
    scenario = FAMILIES[family](11, accounts=150, days=12)
    events, truth, niches = tmp_path / "events.jsonl", tmp_path / "truth.jsonl", tmp_path / "niches.json"
    scenario.write(events, truth, niches)
    if drop is not None:
        kept = {name: [t for t in tags if normalise_tag(t) != drop] for name, tags in orjson.loads(niches.read_bytes()).items()}
        niches.write_bytes(orjson.dumps(kept))
    args = argparse.Namespace(input=events, niches=niches, alerts_out=None, influencers_out=None,
                              reorder_delay_hours=0.0, tags_out=tmp_path / "tags.json")
    assert replay_command.run(args) == 0
    return orjson.loads(args.tags_out.read_bytes())


@pytest.mark.parametrize("family", ["first", "second"])
def test_replay_flags_the_generic_tracked_tag_and_no_specific_one(tmp_path: Path, family: str) -> None:
    report = _replay_tags(tmp_path, family)
    (generic_niche, generic_tag), = GENERIC_TRACKED[family].items()
    flagged = {(niche, row["tag"]) for niche, body in report.items() for row in body["tags"]
               if row["tracked"] and row["generic"]}
    assert flagged == {(generic_niche, normalise_tag(generic_tag))}
    row = next(r for r in report[generic_niche]["tags"] if r["tag"] == normalise_tag(generic_tag))
    assert ROW_FIELDS <= set(row) and row["generic_reasons"]
    assert report[generic_niche]["generic_only_share"] > 0
    for niche, body in report.items():
        assert body["tags"] and all(ROW_FIELDS <= set(r) for r in body["tags"])
        if niche != generic_niche:
            assert body["generic_only_share"] == 0.0
    assert all(row["generic"] for body in report.values() for row in body["tags"]
               if row["tag"] in {"love", "instagood", "fyp"} and not row["tracked"] and row["posts"] >= 20)


@pytest.mark.parametrize(("family", "niche", "dropped"), [("first", "fountainpens", "inkswatch"),
                                                          ("second", "bonsai", "yamadori")])
def test_an_untracked_specific_tag_is_the_top_suggestion(tmp_path: Path, family: str, niche: str, dropped: str) -> None:
    report = _replay_tags(tmp_path, family, drop=dropped)
    assert report[niche]["suggested"][0]["tag"] == dropped
    assert report[niche]["suggested"][0]["score"] > 0.1
    suggested_elsewhere = {s["tag"] for name, body in report.items() if name != niche for s in body["suggested"]}
    assert dropped not in suggested_elsewhere
