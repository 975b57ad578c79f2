"""A second, independently written scenario family, for evaluation only (see scenario.py)."""

from streams.feeds.second_family.scenario import SecondFamilyScenario

__all__ = ["SecondFamilyScenario"]
