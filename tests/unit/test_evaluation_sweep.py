"""The robustness sweep: one knob at a time, each setting scored like `nichewatch evaluate`."""

from __future__ import annotations

from streams.feeds.realism import WorldKnobs
from streams.sweep import SETTINGS, Setting, format_row, run_setting, settings


def test_sweep_starts_at_the_defaults_and_changes_one_knob_per_setting() -> None:
    rows = settings()
    assert rows[0] == Setting("default", None) and rows[0].knobs() == WorldKnobs()
    defaults = WorldKnobs()
    for setting in rows[1:]:
        knobs = setting.knobs()
        changed = [name for name in WorldKnobs.names() if getattr(knobs, name) != getattr(defaults, name)]
        assert changed == [setting.knob]
    assert {s.knob for s in rows[1:]} == set(SETTINGS) >= {
        "engagement_noise", "growth_scale", "post_rate_scale", "snapshot_hours", "rounded_share", "outage_rate",
    }


def test_settings_are_labelled_by_knob_and_value() -> None:
    assert [s.label for s in settings(["snapshot_hours"])] == ["defaults", "snapshot_hours=1-3", "snapshot_hours=12-24"]
    assert [s.label for s in settings(["outage_rate"])][1:] == ["outage_rate=0", "outage_rate=1"]


def test_a_setting_is_scored_on_its_own_world() -> None:
    row = run_setting(("second", 4, 40, 13, None, Setting("outage_rate", 3.0)))
    assert 0.0 <= row.precision <= 1.0 and row.purchases > 0
    assert row.honest_accounts > 0
    assert format_row(row).startswith("outage_rate=3")
