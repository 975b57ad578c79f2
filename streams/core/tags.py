"""Hashtag normalisation and niche matching.

``#FountainPens``, ``fountainpens`` and ``ＦｏｕｎｔａｉｎＰｅｎｓ`` are one tag: strip the
leading '#', apply Unicode NFKC (folds full-width and compatibility forms), then casefold
(``ß`` -> ``ss``). A post belongs to every niche whose tag set it hits.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from functools import lru_cache

from schemas.events import NicheDefinition

MATCH_CACHE_SIZE = 65_536


@lru_cache(maxsize=65_536)  # tags repeat heavily; this makes normalising ~free on the hot path
def normalise_tag(tag: str) -> str:
    """Canonical form of a hashtag; idempotent."""
    text = unicodedata.normalize("NFKC", tag).strip().lstrip("#").strip()
    # casefold can produce new compatibility forms, so normalise again to be idempotent.
    return unicodedata.normalize("NFKC", text.casefold())


class NicheMatcher:
    """Maps a post's tags to the niches it belongs to; updated at runtime from niches.config."""

    def __init__(self, niches: Iterable[NicheDefinition] = ()) -> None:
        self._tags_by_niche: dict[str, frozenset[str]] = {}
        self._niches_by_tag: dict[str, frozenset[str]] = {}
        self._matches: dict[tuple[str, ...], tuple[str, ...]] = {}
        for niche in niches:
            self.set_niche(niche)

    @property
    def niche_names(self) -> list[str]:
        return sorted(self._tags_by_niche)

    def tags_of(self, name: str) -> frozenset[str]:
        return self._tags_by_niche.get(name, frozenset())

    def set_niche(self, niche: NicheDefinition) -> None:
        tags = frozenset(t for t in (normalise_tag(tag) for tag in niche.tags) if t)
        self._tags_by_niche[niche.name] = tags
        self._rebuild()

    def remove_niche(self, name: str) -> bool:
        """Forget a niche; returns whether it existed."""
        existed = self._tags_by_niche.pop(name, None) is not None
        if existed:
            self._rebuild()
        return existed

    def match(self, tags: Iterable[str]) -> tuple[str, ...]:
        """Sorted names of the niches the tags hit (empty when none)."""
        # Posts repeat their tag lists; the answer per list is kept until the niches change.
        key = tuple(tags)
        cached = self._matches.get(key)
        if cached is not None:
            return cached
        found = self._match(key)
        if len(self._matches) >= MATCH_CACHE_SIZE:
            self._matches.clear()
        self._matches[key] = found
        return found

    def _match(self, tags: Iterable[str]) -> tuple[str, ...]:
        index = self._niches_by_tag
        found: set[str] = set()
        for tag in tags:
            hit = index.get(normalise_tag(tag))
            if hit:
                found.update(hit)
        return tuple(sorted(found)) if found else ()

    def _rebuild(self) -> None:
        index: dict[str, set[str]] = {}
        for name, tags in self._tags_by_niche.items():
            for tag in tags:
                index.setdefault(tag, set()).add(name)
        self._niches_by_tag = {tag: frozenset(names) for tag, names in index.items()}
        self._matches = {}
