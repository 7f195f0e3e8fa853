"""Where an appeal comes from: region, district (okrug), branch (ПЭС) and unit (РЭС), with evidence.

Best evidence first: a street or settlement named in the text (the most specific), then a
district named outright, then the personal account number's prefix. Names are matched after
normalisation (case, «ё», «ул.», «г.», «р-н», «пос.» and the like), by their aliases too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from classifiers.text import stem
from robot.routing.load import normalise_place
from robot.routing.schema import RulesFile

_WORD = re.compile(r"[\w-]+")
_ACCOUNT = re.compile(r"(?<!\d)(\d{10,12})(?!\d)")
#: Confidence of each kind of evidence.
_WEIGHT = {"street": 0.9, "settlement": 0.9, "district": 0.8, "account": 0.7}
#: A district named by one word only («Советский»): ordinary words share those stems.
_LONE_DISTRICT = 0.5
#: The longest alias, in words, that is looked for.
_MAX_WORDS = 5


@dataclass(frozen=True)
class Territory:
    region: str | None = None
    district: str | None = None
    unit: str | None = None
    unit_name: str | None = None
    branch: str | None = None
    confidence: float = 0.0
    evidence: list[str] = field(default_factory=list)

    @property
    def known(self) -> bool:
        return self.unit is not None


@dataclass(frozen=True)
class _Entry:
    kind: str
    name: str
    region: str
    district: str
    unit: str


class Gazetteer:
    """Every place name and alias of the rules file, ready to be found in text."""

    def __init__(self, rules: RulesFile) -> None:
        self.branch_of = {unit.code: unit.branch for unit in rules.units}
        self.unit_names = {unit.code: unit.name for unit in rules.units}
        self.prefixes = sorted(((p, unit.code) for unit in rules.units for p in unit.account_prefixes),
                               key=lambda item: -len(item[0]))
        self.names: dict[str, list[_Entry]] = {}
        self.district_of_unit: dict[str, tuple[str, str]] = {}
        for region in rules.regions:
            for district in region.districts:
                self.district_of_unit.setdefault(district.unit, (region.name, district.name))
                self._add("district", district.name, district.aliases, region.name, district.name, district.unit)
                for kind, places in (("street", district.streets), ("settlement", district.settlements)):
                    for place in places:
                        self._add(kind, place.name, place.aliases, region.name, district.name, district.unit)

    def _add(self, kind: str, name: str, aliases: list[str], region: str, district: str, unit: str) -> None:
        for alias in {name, *aliases}:
            key = " ".join(stem(word) for word in _WORD.findall(normalise_place(alias)))
            entries = self.names.setdefault(key, []) if key else []
            entry = _Entry(kind, name, region, district, unit)
            if key and entry not in entries:  # «улица Ленина» and «Ленина» are one street
                entries.append(entry)

    def detect(self, subject: str, text: str, account: str | None = None) -> Territory:
        found: list[tuple[float, _Entry, str]] = []
        words = _WORD.findall(normalise_place(f"{subject}\n{text}"))
        # Place names inflect («в Таре», «в Екатерининском»): words are compared by their stems.
        stems = [stem(word) for word in words]
        for size in range(_MAX_WORDS, 0, -1):
            for start in range(len(words) - size + 1):
                for entry in self.names.get(" ".join(stems[start : start + size]), ()):
                    written = " ".join(words[start : start + size])
                    if size == 1 and (len(written) < 4 or written.isdigit()):
                        continue  # «Мира» yes; «д», «5» no: too short to mean a place alone
                    weight = _WEIGHT[entry.kind]
                    if entry.kind == "district" and size == 1:
                        weight = _LONE_DISTRICT  # «Центральный» may be «центральное отопление»
                    found.append((weight, entry, written))
        if found:
            # The most specific evidence wins; agreement between pieces of evidence raises confidence.
            best_weight, best, phrase = max(found, key=lambda item: item[0])
            agreeing = {e.unit for _, e, _ in found if e.unit == best.unit}
            disagreeing = {e.unit for _, e, _ in found} - agreeing
            confidence = min(0.99, best_weight + 0.05 * (len(found) - 1)) if not disagreeing else best_weight / 2
            evidence = [f"{entry.kind} «{entry.name}» (written «{p}») → {entry.district}" for _, entry, p in found]
            return Territory(best.region, best.district, best.unit, self.unit_names.get(best.unit),
                             self.branch_of.get(best.unit), round(confidence, 2), evidence)
        for number in ([account] if account else []) + _ACCOUNT.findall(text):
            for prefix, unit in self.prefixes:
                if number.startswith(prefix):
                    region, district = self.district_of_unit.get(unit, (None, None))
                    return Territory(region, district, unit, self.unit_names.get(unit), self.branch_of.get(unit),
                                     _WEIGHT["account"], [f"account {number} starts with {prefix} → unit {unit}"])
        return Territory(evidence=["no street, settlement, district or account number found"])
