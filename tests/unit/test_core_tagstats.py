from __future__ import annotations

import statistics
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.codec import decode_event
from schemas.events import NicheDefinition
from streams.core.engine import Engine
from streams.core.sketches import AccountSample, SpaceSaving
from streams.core.tagstats import BucketCount, TagBook, TagStatsConfig
from tests.events_factory import BASE_TIME, post_bytes

NICHES = {"pens": frozenset({"pen", "ink"}), "bread": frozenset({"loaf", "crumb"})}
TAGS = ["pen", "ink", "loaf", "crumb", "love", "fyp", "nib", "yeast"]

# A post as drawn by hypothesis: (account index, tags, followers, rate).
post_strategy = st.tuples(
    st.integers(0, 9),
    st.lists(st.sampled_from(TAGS), min_size=1, max_size=4),
    st.integers(100, 200_000),
    st.floats(0.0, 0.2),
)


def _book(config: TagStatsConfig | None = None) -> TagBook:
    book = TagBook(config)
    book.tracked_of = lambda name: NICHES.get(name, frozenset())
    return book


def _niches_hit(tags: list[str]) -> tuple[str, ...]:
    return tuple(sorted(name for name, tracked in NICHES.items() if tracked & set(tags)))


def _observe_all(book: TagBook, posts: list[tuple[int, list[str], int, float]]) -> None:
    for ts, (account, tags, followers, rate) in enumerate(posts):
        book.observe(tags, _niches_hit(tags), f"instagram:a{account}", followers, rate, 1.0, float(ts))


@settings(max_examples=150, deadline=None)
@given(st.lists(post_strategy, min_size=1, max_size=60))
def test_tag_statistics_match_brute_force_on_small_inputs(posts: list[tuple[int, list[str], int, float]]) -> None:
    book = _book()
    _observe_all(book, posts)
    carrying: Counter[str] = Counter()
    for _, tags, _, _ in posts:
        carrying.update(set(tags))
    for name in NICHES:
        in_niche = [p for p in posts if name in _niches_hit(p[1])]
        report = book.report(name)
        assert report.posts == len(in_niche)
        rows = {row.tag: row for row in report.tags}
        for tag in {t for p in in_niche for t in p[1]}:
            mine = [p for p in in_niche if tag in p[1]]
            exclusive = sum(1 for p in mine if _niches_hit(p[1]) == (name,))
            latest = {p[0]: (p[2], p[3]) for p in mine}  # each account's latest values
            if tag not in rows:  # beyond the untracked rows reported
                continue
            row = rows[tag]
            assert row.posts == len(mine) and row.posts_error == 0
            assert row.accounts == len(latest)
            assert row.specificity == round(exclusive / carrying[tag], 4)
            assert row.median_followers == statistics.median(f for f, _ in latest.values())
            assert row.median_engagement_rate == round(statistics.median(r for _, r in latest.values()), 6)
            for tracked in NICHES[name]:
                both = sum(1 for p in mine if tracked in p[1])
                assert row.cooccurrence.get(tracked, 0) == both


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5_000), st.integers(0, 3)), min_size=1, max_size=2_000))
def test_state_stays_bounded_however_many_distinct_tags_and_accounts_appear(draws: list[tuple[int, int]]) -> None:
    config = TagStatsConfig(tags_per_niche=16, background_tags=24, accounts_per_tag=4, accounts_per_niche=8,
                            tag_sets_per_niche=4)
    book = _book(config)
    for ts, (tag_number, kind) in enumerate(draws):
        tags = [f"t{tag_number}", f"u{tag_number % 97}"] + (["pen"] if kind == 1 else []) + (["loaf"] if kind >= 2 else [])
        if kind == 3:
            tags.append("ink")
        book.observe(tags, _niches_hit(tags), f"instagram:acc{tag_number}", 1_000, 0.05, 1.0, float(ts))
    assert len(book.untracked) <= 24 and len(book.multi) <= 24
    for stats in book.niches.values():
        assert len(stats.tags) <= 16 and len(stats.tag_sets) <= 4
        assert len(stats.accounts.values) <= 8
        assert all(len(entry.accounts.values) <= 4 for _, entry in stats.tags.items())
        assert all(len(entry.co_posts) <= len(NICHES["pens"] | NICHES["bread"]) for _, entry in stats.tags.items())


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=1, max_size=400), st.integers(2, 12))
def test_space_saving_counts_bound_the_true_count_and_keep_every_heavy_hitter(keys: list[int], capacity: int) -> None:
    sketch: SpaceSaving[BucketCount] = SpaceSaving(capacity, lambda floor: BucketCount(floor, floor))
    for key in keys:
        sketch.entry(str(key)).count += 1
    true = Counter(str(k) for k in keys)
    assert len(sketch) <= capacity
    for key, entry in sketch.items():
        assert entry.count - entry.error <= true[key] <= entry.count
    for key, count in true.items():
        if count > len(keys) / capacity:
            assert sketch.get(key) is not None, key


def test_distinct_accounts_are_estimated_within_a_fifth_beyond_the_sample_size() -> None:
    sample = AccountSample(256)
    for i in range(20_000):
        sample.observe(f"instagram:user{i}", i, 0.01)
        sample.observe(f"instagram:user{i // 2}", i, 0.01)  # repeats do not count
    assert len(sample.values) == 256
    assert abs(sample.distinct() - 20_000) / 20_000 < 0.2


def _engine_with_book() -> tuple[Engine, TagBook]:
    book = TagBook()
    engine = Engine(niches=[NicheDefinition(name="pens", tags=["#FountainPens", "#InkSwatch"])], tags=book)
    return engine, book


def test_a_re_observed_post_is_counted_once_in_tag_statistics() -> None:
    from datetime import timedelta

    engine, book = _engine_with_book()
    for hour in range(1, 6):
        observed = BASE_TIME + timedelta(hours=hour)
        engine.process(decode_event(post_bytes(observed_at=observed, posted_at=BASE_TIME.isoformat(), likes=100 * hour)))
    report = book.report("pens")
    assert report.posts == 1
    assert {row.tag: row.posts for row in report.tags} == {"fountainpens": 1, "inkswatch": 1}


def test_buffered_re_observations_are_counted_once_with_a_reorder_delay() -> None:
    from datetime import timedelta

    from streams.core.config import EngineConfig

    book = TagBook()
    engine = Engine(EngineConfig(reorder_delay_s=6 * 3600.0), [NicheDefinition(name="pens", tags=["#inkswatch"])], tags=book)
    for hour in (2, 1, 3):
        observed = BASE_TIME + timedelta(hours=hour)
        engine.process(decode_event(post_bytes(observed_at=observed, posted_at=BASE_TIME.isoformat())))
    engine.flush()
    assert book.report("pens").posts == 1


def test_a_tracked_tag_used_all_over_other_niches_is_flagged_generic_with_its_numbers() -> None:
    book = _book(TagStatsConfig(min_posts_to_flag=5))
    book.tracked_of = lambda name: {"pens": frozenset({"pen", "love"}), "bread": frozenset({"loaf"})}.get(name, frozenset())
    tracked = {"pens": {"pen", "love"}, "bread": {"loaf"}}
    posts = [["pen"]] * 30 + [["pen", "love"]] * 10 + [["loaf", "love"]] * 40 + [["love", "sunset"]] * 20
    for ts, tags in enumerate(posts):
        hit = tuple(sorted(n for n, t in tracked.items() if t & set(tags)))
        book.observe(tags, hit, f"instagram:a{ts % 7}", 5_000, 0.04, 1.0, float(ts))
    rows = {row.tag: row for row in book.report("pens").tags}
    assert rows["love"].generic and not rows["pen"].generic
    assert rows["love"].specificity == round(30 / 70, 4)  # 10 pen+love and 20 love-only posts of 70
    assert "43% of the 70 posts" in rows["love"].generic_reasons[0]
    assert book.report("pens").generic_only_share == 0.6  # loaf+love and love+sunset posts, of 100


def test_a_tracked_tag_of_large_low_engagement_accounts_is_flagged_generic() -> None:
    book = _book(TagStatsConfig(min_posts_to_flag=5))
    book.tracked_of = lambda name: frozenset({"pen", "ink"}) if name == "pens" else frozenset()
    for i in range(40):
        book.observe(["pen"], ("pens",), f"instagram:small{i}", 8_000, 0.06, 1.0, float(i))
    for i in range(20):
        book.observe(["ink", "pen"], ("pens",), f"instagram:big{i}", 900_000, 0.004, 1.0, float(i))
    rows = {row.tag: row for row in book.report("pens").tags}
    assert rows["ink"].generic and "large, low-engagement users" in rows["ink"].generic_reasons[0]
    assert not rows["pen"].generic


def test_untracked_tags_on_the_best_micro_influencers_posts_rank_first_among_suggestions() -> None:
    book = _book(TagStatsConfig(min_posts_to_suggest=3, min_accounts_to_suggest=2))
    for i in range(30):
        account = f"instagram:a{i % 6}"
        book.observe(["pen", "nib"], ("pens",), account, 9_000, 0.05, 0.9, float(i))  # high scorers
        book.observe(["pen", "yeast"], ("pens",), account + "x", 9_000, 0.05, 0.1, float(i))  # low scorers
        for _ in range(2):
            book.observe(["loaf", "love"], ("bread",), account, 9_000, 0.05, 0.5, float(i))
        book.observe(["pen", "love"], ("pens",), account, 9_000, 0.05, 0.5, float(i))
    suggested = [s.tag for s in book.report("pens").suggested]
    assert suggested[:2] == ["nib", "yeast"]
    assert "love" not in suggested  # two thirds of its posts are bread's: not specific
    assert book.report("pens").suggested[0].score > 3 * book.report("pens").suggested[1].score


def test_tracked_tags_never_seen_are_listed_with_zero_posts() -> None:
    book = _book()
    book.observe(["pen"], ("pens",), "instagram:a", 1_000, 0.05, 1.0, 0.0)
    rows = {row.tag: row for row in book.report("pens").tags}
    assert rows["ink"].posts == 0 and rows["ink"].tracked and not rows["ink"].generic


def test_an_engine_without_a_tag_book_keeps_no_tag_statistics() -> None:
    engine = Engine(niches=[NicheDefinition(name="pens", tags=["#inkswatch"])])
    engine.process(decode_event(post_bytes()))
    assert engine.tags is None



def _split_by_account(posts: list[tuple[int, list[str], int, float]]) -> tuple[list, list]:
    return [p for p in posts if p[0] % 2 == 0], [p for p in posts if p[0] % 2 == 1]


@settings(max_examples=100, deadline=None)
@given(st.lists(post_strategy, min_size=1, max_size=60))
def test_two_books_over_disjoint_accounts_merge_into_the_book_of_all_posts(
    posts: list[tuple[int, list[str], int, float]],
) -> None:
    whole, left, right = _book(), _book(), _book()
    _observe_all(whole, posts)
    evens, odds = _split_by_account(posts)
    _observe_all(left, evens)
    _observe_all(right, odds)
    left.merge(right)
    for name in NICHES:
        assert left.report(name).model_dump(exclude={"updated_at"}) == whole.report(name).model_dump(exclude={"updated_at"})


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 30), min_size=1, max_size=300), st.lists(st.integers(0, 30), max_size=300),
       st.integers(2, 10))
def test_merged_space_saving_counts_still_bound_the_true_counts(left: list[int], right: list[int], capacity: int) -> None:
    def sketch(keys: list[int]) -> SpaceSaving[BucketCount]:
        built: SpaceSaving[BucketCount] = SpaceSaving(capacity, lambda floor: BucketCount(floor, floor))
        for key in keys:
            built.entry(str(key)).count += 1
        return built

    merged = sketch(left)
    merged.merge(sketch(right), lambda a, b: (setattr(a, "count", a.count + b.count), setattr(a, "error", a.error + b.error)),
                 lambda e: BucketCount(e.count, e.error))
    true = Counter(str(k) for k in left + right)
    assert len(merged) <= capacity
    for key, entry in merged.items():
        assert entry.count - entry.error <= true[key] <= entry.count
    merged.entry("new").count += 1  # the heap is consistent after a merge: eviction still works
    assert len(merged) <= capacity


def test_merged_account_samples_estimate_the_union() -> None:
    left, right = AccountSample(128), AccountSample(128)
    for i in range(6_000):
        (left if i % 3 else right).observe(f"instagram:user{i}", i, 0.01)
    left.merge(right)
    assert len(left.values) == 128 and abs(left.distinct() - 6_000) / 6_000 < 0.25


def test_tag_statistics_of_two_engines_splitting_the_accounts_merge_into_one_engines() -> None:
    import zlib

    import orjson

    from streams.feeds.simulator import Scenario

    scenario = Scenario(5, accounts=80, days=12)
    # One specific tag left untracked, so that there is a suggestion to compare.
    niches = [NicheDefinition(name=name, tags=[t for t in tags if t != "inkswatch"]) for name, tags in scenario.niches.items()]
    whole, halves = TagBook(), (TagBook(), TagBook())
    one = Engine(niches=niches, tags=whole)
    two = (Engine(niches=niches, tags=halves[0]), Engine(niches=niches, tags=halves[1]))
    for event in scenario.events():
        decoded = decode_event(orjson.dumps(event))
        one.process(decoded)
        two[zlib.crc32(decoded.account_id.encode()) % 2].process(decoded)
    merged = halves[0]
    merged.merge(halves[1])
    for name in one.niche_names:
        single, split = whole.report(name), merged.report(name)
        assert split.tags == single.tags and split.posts == single.posts
        assert split.generic_only_share == single.generic_only_share
        # Suggestions weigh posts by their authors' scores, which still come from each
        # engine's own cohorts: the same tags, scores close.
        assert [s.tag for s in split.suggested] == [s.tag for s in single.suggested]
        for a, b in zip(split.suggested, single.suggested):
            assert abs(a.score - b.score) < 0.02, (name, a, b)
    assert whole.report("fountainpens").suggested[0].tag == "inkswatch"


def test_another_niches_own_tag_seen_here_is_neither_generic_nor_suggested() -> None:
    book = _book(TagStatsConfig(min_posts_to_flag=5, min_posts_to_suggest=3, min_accounts_to_suggest=2))
    for i in range(30):
        book.observe(["loaf", "crumb"], ("bread",), f"instagram:b{i % 6}", 5_000, 0.05, 0.8, float(i))
        book.observe(["pen", "ink", "love"], ("pens",), f"instagram:p{i % 6}", 5_000, 0.05, 0.8, float(i))
        for _ in range(2):
            book.observe(["love", "fyp"], (), f"instagram:x{i % 6}", 5_000, 0.05, 0.8, float(i))
        if i % 3 == 0:  # a pens account that also bakes, and says so with #yeast (bread's, here untracked)
            book.observe(["pen", "yeast"], ("pens",), "instagram:p0", 5_000, 0.05, 0.8, float(i))
            book.observe(["loaf", "yeast"], ("bread",), f"instagram:b{i % 6}", 5_000, 0.05, 0.8, float(i))
            book.observe(["loaf", "yeast"], ("bread",), f"instagram:b{(i + 1) % 6}", 5_000, 0.05, 0.8, float(i))
            book.observe(["loaf", "yeast"], ("bread",), f"instagram:b{(i + 2) % 6}", 5_000, 0.05, 0.8, float(i))
    rows = {row.tag: row for row in book.report("pens").tags}
    assert not rows["yeast"].generic and rows["yeast"].specificity == 0.25  # 10 of 40
    assert rows["love"].generic  # two thirds of its posts are untracked ones: spread
    assert "yeast" not in [s.tag for s in book.report("pens").suggested]
