from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from schemas.events import NicheDefinition
from streams.core.tags import NicheMatcher, normalise_tag


def test_hash_case_width_and_compatibility_forms_are_one_tag() -> None:
    assert normalise_tag("#FountainPens") == "fountainpens"
    assert normalise_tag("ＦｏｕｎｔａｉｎＰｅｎｓ") == "fountainpens"
    assert normalise_tag("＃Ink") == "ink"
    assert normalise_tag("Straße") == normalise_tag("STRASSE")


@given(st.text(max_size=40))
def test_tag_normalisation_is_idempotent(tag: str) -> None:
    once = normalise_tag(tag)
    assert normalise_tag(once) == once


def test_post_belongs_to_every_niche_it_hits() -> None:
    matcher = NicheMatcher(
        [
            NicheDefinition(name="pens", tags=["#FountainPens", "ink"]),
            NicheDefinition(name="journaling", tags=["bulletjournal", "Ink"]),
        ]
    )
    assert matcher.match(["#INK"]) == ("journaling", "pens")
    assert matcher.match(["#fountainpens", "#love"]) == ("pens",)
    assert matcher.match(["#love", "#instagood"]) == ()


def test_niches_can_be_replaced_and_removed_at_runtime() -> None:
    matcher = NicheMatcher([NicheDefinition(name="pens", tags=["fountainpens"])])
    matcher.set_niche(NicheDefinition(name="pens", tags=["inkswatch"]))
    assert matcher.match(["fountainpens"]) == ()
    assert matcher.match(["InkSwatch"]) == ("pens",)
    assert matcher.remove_niche("pens") is True
    assert matcher.match(["inkswatch"]) == ()
    assert matcher.remove_niche("pens") is False
