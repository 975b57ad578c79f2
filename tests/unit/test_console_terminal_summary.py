"""The demo's terminal summary names tiers honestly."""

from __future__ import annotations

from streams.live_status import tier_lines


def p(handle: str, tier: str, score: float) -> dict:
    return {"handle": handle, "tier": tier, "score": score}


def test_micro_influencers_are_nano_and_micro_and_larger_accounts_have_their_own_tier() -> None:
    lines = tier_lines({"pens": [p("big-brand", "mega", 0.95), p("pen-shop", "macro", 0.9), p("ink-hobbyist", "micro", 0.8),
                                 p("nib-grinder", "nano", 0.7), p("reviewer", "mid", 0.6)]})
    heading = lines.index("top micro-influencers (nano and micro accounts):")
    micro_line = lines[heading + 1]
    assert "ink-hobbyist" in micro_line and "nib-grinder" in micro_line
    assert not any(name in micro_line for name in ("big-brand", "pen-shop", "reviewer"))
    larger = lines[lines.index("larger accounts, by tier:") + 1:]
    assert any("mega" in line and "big-brand" in line for line in larger)
    assert any("macro" in line and "pen-shop" in line for line in larger)
    assert any(" mid " in line and "reviewer" in line for line in larger)


def test_a_niche_without_small_accounts_shows_its_mid_accounts_and_says_so() -> None:
    lines = tier_lines({"lifting": [p("gym-chain", "mega", 0.9), p("deadlift-dan", "mid", 0.8)]})
    micro_line = lines[1]
    assert "deadlift-dan" in micro_line and "no nano or micro accounts" in micro_line
    assert "gym-chain" not in micro_line
    assert not any("deadlift-dan" in line for line in lines[2:])


def test_each_list_is_cut_at_the_limit_best_first() -> None:
    board = [p(f"acct{i}", "micro", 1 - i / 10) for i in range(6)]
    assert tier_lines({"pens": board}, limit=2)[1].split(maxsplit=1)[1] == "acct0 (micro, 1.00), acct1 (micro, 0.90)"


def test_nothing_is_printed_before_any_profile_exists() -> None:
    assert tier_lines({"pens": []}) == []
