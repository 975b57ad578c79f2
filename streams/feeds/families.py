"""The scenario families by name: ``first`` is tuned on, ``second`` only evaluates."""

from __future__ import annotations

from typing import Final

from streams.feeds.second_family import SecondFamilyScenario
from streams.feeds.simulator import Scenario

AnyScenario = Scenario | SecondFamilyScenario
FAMILIES: Final[dict[str, type[Scenario] | type[SecondFamilyScenario]]] = {
    "first": Scenario,
    "second": SecondFamilyScenario,
}
