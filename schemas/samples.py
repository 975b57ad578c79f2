"""Sample payloads for docs/contract.md, rendered from the event models.

Regenerate after changing a model (or this file)::

    python -m schemas.samples            # writes docs/samples/*.json and the blocks in docs/contract.md
    python -m schemas.samples --check    # exits 1 when the checked-in samples drift

Each sample is a realistic model instance serialised by ``schemas.codec.encode`` (the bytes
nichewatch puts on the wire), then indented for reading. A unit test fails when the files
or the markdown blocks differ from what this module renders.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import BaseModel

from schemas.codec import encode
from schemas.events import (
    SCHEMA_VERSION,
    AccountSnapshot,
    Evidence,
    FollowerSpikeAlert,
    InfluencerProfile,
    NicheDefinition,
    Post,
    ScoreComponents,
)
from schemas.niche_tags import NicheTagReport, TagStatistics, TagSuggestion

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DIR = REPO_ROOT / "docs" / "samples"
CONTRACT = REPO_ROOT / "docs" / "contract.md"
BLOCK = re.compile(
    r"(?P<open><!-- sample:(?P<stem>\w+) -->\n)```json\n.*?```\n(?P<close><!-- /sample -->)", re.DOTALL
)

T0 = datetime(2026, 3, 14, 9, 0, tzinfo=UTC)


def _id(*parts: object) -> str:
    # Same derivation as the engine: sha256 of "account_id|<episode onset or update time>".
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:32]


def sample_models() -> dict[str, BaseModel]:
    """File stem (as in schemas/*.schema.json) -> one realistic instance of the model."""
    spike_onset = T0 + timedelta(hours=3)
    profile_time = T0 + timedelta(days=6, hours=20, minutes=15)
    return {
        "post": Post(
            kind="post",
            schema_version=SCHEMA_VERSION,
            post_id="instagram:C4xQ2pLr9Zk",
            platform="instagram",
            account_id="instagram:inkjournal",
            handle="inkjournal",
            posted_at=T0 - timedelta(hours=5),
            observed_at=T0,
            followers=12_480,
            following=311,
            likes=1_032,
            comments=58,
            shares=17,
            views=None,
            tags=["#FountainPens", "#inkswatch", "#penaddict"],
            text="Swatching a new blue-black: shading for days",
        ),
        "account_snapshot": AccountSnapshot(
            kind="snapshot",
            schema_version=SCHEMA_VERSION,
            platform="instagram",
            account_id="instagram:inkjournal",
            handle="inkjournal",
            observed_at=T0 + timedelta(minutes=30),
            followers=12_492,
            following=311,
            posts_count=864,
        ),
        "niche_definition": NicheDefinition(
            name="fountainpens",
            tags=["fountainpens", "fountainpen", "inkswatch", "penaddict", "fpgeeks"],
            description="Fountain pens, inks and paper",
        ),
        "follower_spike_alert": FollowerSpikeAlert(
            alert_id=_id("instagram:nibsandnotes", int(spike_onset.timestamp())),
            account_id="instagram:nibsandnotes",
            platform="instagram",
            handle="nibsandnotes",
            niches=["fountainpens"],
            classification="suspected_purchase",
            window_start=T0,
            window_end=T0 + timedelta(hours=4),
            detected_at=T0 + timedelta(hours=4),
            followers_before=18_240,
            followers_after=28_310,
            growth=10_070,
            growth_relative=round(10_070 / 18_240, 4),
            expected_growth=24.0,
            baseline_growth_per_hour=6.0,
            baseline_mad_per_hour=2.5,
            evidence=[
                Evidence(
                    name="excess_growth",
                    value=10046.0,
                    detail="followers grew by 10,070 (55.2%) in 4.0 h where the account's baseline of "
                    "6.0/h predicts 24; threshold 1,200 (short window)",
                ),
                Evidence(
                    name="robust_z",
                    value=1355.2,
                    detail="the excess is 1355.2 robust standard deviations of the account's hourly growth (3.7/h)",
                ),
                Evidence(
                    name="max_post_engagement_ratio",
                    value=0.0,
                    detail="no post near the window to explain the growth",
                ),
                Evidence(
                    name="observed_growth",
                    value=10070.0,
                    detail="followers grew by 10,070, 10,046 above the 24 the account's baseline predicts",
                ),
                Evidence(
                    name="explained_growth",
                    value=0.0,
                    detail="posts near the window drew 0 interactions beyond the account's usual 1,410 per post, "
                    "which explain 0 new followers (credited up to 3x: 0)",
                ),
                Evidence(
                    name="unexplained_growth",
                    value=10046.0,
                    detail="10,046 followers above the baseline are not explained by engagement (a spike from 1,200)",
                ),
                Evidence(
                    name="followers_per_interaction",
                    value=0.1294,
                    detail="0.129 new followers per extra interaction (1.00% of the audience per median post of extra "
                    "engagement), the micro tier's prior",
                ),
                Evidence(
                    name="round_number_jump",
                    value=10000.0,
                    detail="a single jump of 9,980 followers is within 20 of 10,000",
                ),
                Evidence(
                    name="engagement_rate_change",
                    value=0.61,
                    detail="engagement rate after the jump is 0.61x the rate before: the new followers do not engage",
                ),
            ],
        ),
        "influencer_profile": InfluencerProfile(
            profile_id=_id("instagram:inkjournal", profile_time.isoformat()),
            account_id="instagram:inkjournal",
            platform="instagram",
            handle="inkjournal",
            tier="micro",
            followers=12_655,
            niches=["fountainpens", "stationery"],
            primary_niche="fountainpens",
            score=0.8125,
            components=ScoreComponents(engagement=0.9, niche_focus=0.8571, consistency=0.6429, authenticity=1.0),
            median_engagement_rate=0.087421,
            cohort_size=42,
            posts_in_window=14,
            window_start=T0 - timedelta(days=20),
            window_end=profile_time,
            updated_at=profile_time,
        ),
        "niche_tag_report": NicheTagReport(
            niche="filmphotography",
            posts=1_955,
            generic_only_share=0.7171,
            median_followers=17_301.0,
            median_engagement_rate=0.03719,
            tags=[
                TagStatistics(
                    tag="photooftheday", tracked=True, posts=1_620, posts_error=0, accounts=94, specificity=0.1481,
                    lift=1.5642, median_followers=28_921.0, median_engagement_rate=0.032532,
                    cooccurrence={"photooftheday": 1_620, "filmphotography": 131},
                    generic=True,
                    generic_reasons=["spread: only 15% of the 1,620 posts carrying it belong to this niche alone"],
                ),
                TagStatistics(
                    tag="filmphotography", tracked=True, posts=358, posts_error=0, accounts=36, specificity=1.0,
                    lift=10.5583, median_followers=8_083.0, median_engagement_rate=0.042342,
                    cooccurrence={"filmphotography": 358, "photooftheday": 131}, generic=False, generic_reasons=[],
                ),
                TagStatistics(
                    tag="portra400", tracked=False, posts=97, posts_error=0, accounts=21, specificity=0.9417,
                    lift=9.9429, median_followers=7_420.0, median_engagement_rate=0.051204,
                    cooccurrence={"filmphotography": 61, "photooftheday": 40}, generic=False, generic_reasons=[],
                ),
            ],
            suggested=[
                TagSuggestion(tag="portra400", score=0.2103, posts=97, accounts=21, specificity=0.9417,
                              weighted_cooccurrence=0.2233),
            ],
            updated_at=profile_time,
        ),
    }


def render_samples() -> dict[str, str]:
    """File name -> JSON text: the encoded bytes, indented (key order as serialised)."""
    return {
        f"{stem}.json": json.dumps(json.loads(encode(model)), indent=2, ensure_ascii=False) + "\n"
        for stem, model in sample_models().items()
    }


def render_contract(text: str) -> str:
    """``text`` with every ``<!-- sample:stem -->`` block replaced by the current sample."""
    samples = render_samples()

    def block(match: re.Match[str]) -> str:
        body = samples[f"{match['stem']}.json"]
        return f"{match['open']}```json\n{body}```\n{match['close']}"

    return BLOCK.sub(block, text)


def drifted(sample_dir: Path = SAMPLE_DIR, contract: Path = CONTRACT) -> list[str]:
    """Paths (relative to the repository) that are missing or out of date."""
    stale = [
        f"docs/samples/{name}"
        for name, text in render_samples().items()
        if not (sample_dir / name).is_file() or (sample_dir / name).read_text(encoding="utf-8") != text
    ]
    current = contract.read_text(encoding="utf-8")
    if render_contract(current) != current:
        stale.append("docs/contract.md")
    return stale


def write(sample_dir: Path = SAMPLE_DIR, contract: Path = CONTRACT) -> list[Path]:
    sample_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in render_samples().items():
        (sample_dir / name).write_text(text, encoding="utf-8")
        paths.append(sample_dir / name)
    contract.write_text(render_contract(contract.read_text(encoding="utf-8")), encoding="utf-8")
    return paths + [contract]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m schemas.samples", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report drift, write nothing")
    args = parser.parse_args(argv)
    if args.check:
        stale = drifted()
        for path in stale:
            print(f"{path} is out of date; run python -m schemas.samples", file=sys.stderr)
        return 1 if stale else 0
    for path in write():
        print(path.relative_to(REPO_ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
