"""Follower counts as platform pages show them: "1.2K", "12.3K", "123K", "1.2M".

A post scraped from a page carries its author's follower count rounded for display, while
profile snapshots from an API are exact. Taken at face value, a 1,249,000-follower
account shown as "1.2M" and then snapshotted exactly "gains" 49,000 followers in an hour.
So a count that could be a display rounding is read as the range it stands for::

    shown 1,200,000  ->  unit 100,000  ->  true count in [1,100,000, 1,300,000]

one unit either side, which covers both truncation ("1.29M" shown "1.2M") and rounding to
nearest. Pages show one decimal of K or M (1.2K, 12.3K, 123K, 1.2M, 12.3M), from 1,000 on
(Instagram from 10,000). The spike test takes the least growth the two ends' ranges allow, and the
account's baseline growth rates skip such counts. Counts are stored as they came, so
the windows do not depend on the order observations arrive in. An exact count that
happens to look rounded (one in a hundred five-digit counts) costs at most its unit of
sensitivity, 1% at that size.
"""

from __future__ import annotations

# Below this count a platform's pages show every digit: Instagram writes 9,876 out and
# abbreviates from 10,000 on; TikTok and YouTube show 1.2K from 1,000.
SHOWN_FROM = {"instagram": 10_000}
SHOWN_FROM_OTHERS = 1_000
# Digits of the count -> the unit of its display with one decimal: 1.2K, 12.3K, 123K, 1.2M, 12.3M, 123M, 1.2B
UNITS = {4: 100, 5: 100, 6: 1_000, 7: 100_000, 8: 100_000, 9: 1_000_000, 10: 100_000_000}


def shown_from(platform: str) -> int:
    return SHOWN_FROM.get(platform, SHOWN_FROM_OTHERS)


def display_unit(value: int, abbreviated_from: int = SHOWN_FROM_OTHERS) -> int:
    """The rounding unit of ``value`` if it could be a count shown rounded for display, else 0."""
    if value < abbreviated_from or value % 100:
        return 0  # the common case, decided without formatting
    unit = UNITS.get(len(str(value)), 0)
    return unit if unit and value % unit == 0 else 0
