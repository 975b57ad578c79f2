"""First-family honest growth from outside the account's own posts: press, migrations, shout-outs."""

from __future__ import annotations

import random

from streams.feeds import injections
from streams.feeds.injections import SHOUTOUT_CONVERSION
from streams.feeds.population import draw_profiles
from streams.feeds.simulator import DEFAULT_ACCOUNTS, DEFAULT_DAYS, DEFAULT_START


def _plan() -> tuple[list[injections.Injection], dict[int, int], dict[int, int]]:
    """The planned incidents, each account's followers, and each shout-out target's mentioner's."""
    rng = random.Random("off-platform")
    profiles = draw_profiles(rng, DEFAULT_ACCOUNTS, round(injections.SPAM_SHARE * DEFAULT_ACCOUNTS))
    planned, mentions = injections.plan(rng, profiles, int(DEFAULT_START.timestamp()), DEFAULT_DAYS, 7.0)
    followers = {p.index: p.followers for p in profiles}
    mentioner_followers = {}
    for mentioner, posts in mentions.items():
        for post in posts:
            target = next(i for i in planned if i.event_type == "shoutout" and i.start == post.at)
            mentioner_followers[target.account_index] = followers[mentioner]
    return planned, followers, mentioner_followers


def test_press_and_migrations_bring_real_followers_over_one_to_four_days_with_no_post_behind_them() -> None:
    planned, _, _ = _plan()
    off_platform = [i for i in planned if i.event_type in ("press_mention", "migration")]
    assert {i.event_type for i in off_platform} == {"press_mention", "migration"}
    for injection in off_platform:
        assert injection.real_share == 1.0 and injection.boost == 1.0  # people, engaging as usual
        assert 0.10 <= injection.size <= 0.30
        assert 1 * 86_400 <= injection.end() - injection.spike_start <= 4 * 86_400 + 1
        # A migration is announced by a post of the account's usual engagement; press has none.
        assert all(post.likes_x == 1.0 for post in injection.posts)
        assert bool(injection.posts) == (injection.event_type == "migration")


def test_a_shout_out_brings_at_most_a_few_percent_of_the_mentioners_audience() -> None:
    planned, followers, mentioner_followers = _plan()
    shoutouts = [i for i in planned if i.event_type == "shoutout"]
    assert len(shoutouts) >= 30 and set(mentioner_followers) == {i.account_index for i in shoutouts}
    for injection in shoutouts:
        gained = injection.size * followers[injection.account_index]
        assert gained <= SHOUTOUT_CONVERSION[1] * mentioner_followers[injection.account_index] + 1
