"""Where an appeal comes from: region, district (okrug), branch (ПЭС) and unit (РЭС), with evidence.

Best evidence first: the territory a customer chose on a web form (or the form's address); a
street or settlement named in the text (the most specific), then a district named outright; the
personal account number's prefix; last, the territory decided for the customer's earlier appeal.
Names are matched after normalisation (case, «ё», «ул.», «г.», «р-н», «пос.» and the like), by
their aliases too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from classifiers.text import stem
from robot.routing.load import normalise_place
from robot.routing.schema import RulesFile

_WORD = re.compile(r"[\w-]+")
#: Confidence of each kind of evidence: what the customer chose on a form is surest; an earlier
#: appeal may have been about another address.
_WEIGHT = {"form": 1.0, "form_address": 0.95, "street": 0.9, "settlement": 0.9, "district": 0.8, "account": 0.7,
           "earlier": 0.4}
#: A district named by one word only («Советский»): ordinary words share those stems.
_LONE_DISTRICT = 0.5
#: The longest alias, in words, that is looked for.
_MAX_WORDS = 5
#: The word after a street's kind («ул. Советская», «проспект Мира»): a street's name.
_STREET_WORD = re.compile(r"(?<!\w)(?:ул|улица|пр-т|просп|проспект|пер|переулок|б-р|бульвар|наб|набережная|шоссе|"
                          r"пл|площадь|проезд|туп|тупик)\.?\s+([\w-]+)", re.IGNORECASE)


@lru_cache(maxsize=200_000)
def _key(phrase: str) -> str:
    """A place name as it is looked up: normalised, word by word stemmed. Cached: a reload of the
    rules finds most names unchanged."""
    return " ".join(stem(word) for word in _WORD.findall(normalise_place(phrase)))


@dataclass(frozen=True)
class Territory:
    region: str | None = None
    district: str | None = None
    unit: str | None = None
    unit_name: str | None = None
    branch: str | None = None
    confidence: float = 0.0
    evidence: list[str] = field(default_factory=list)
    #: The kind of the evidence that decided: form, street, settlement, district, account, earlier.
    source: str | None = None

    @property
    def known(self) -> bool:
        return self.unit is not None


@dataclass(frozen=True)
class Earlier:
    """The territory decided for a customer's earlier appeal (as its journal columns say now)."""

    number: str
    region: str | None
    district: str | None
    unit_name: str


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
        self.account = re.compile(rules.account_pattern)
        self.unit_of_name = {unit.name: unit.code for unit in rules.units}
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
            key = _key(alias)
            entries = self.names.setdefault(key, []) if key else []
            entry = _Entry(kind, name, region, district, unit)
            if key and entry not in entries:  # «улица Ленина» and «Ленина» are one street
                entries.append(entry)

    def _territory(self, unit: str, region: str | None, district: str | None, confidence: float,
                   evidence: list[str], source: str) -> Territory:
        if region is None:
            region, district = self.district_of_unit.get(unit, (None, None))
        return Territory(region, district, unit, self.unit_names.get(unit), self.branch_of.get(unit),
                         round(confidence, 2), evidence, source)

    def _places(self, text: str) -> list[tuple[float, _Entry, str]]:
        found: list[tuple[float, _Entry, str]] = []
        seen: set[tuple[_Entry, str]] = set()
        words = _WORD.findall(normalise_place(text))
        # «ул. Советская» is a street: its word must not also count as the okrug «Советский».
        streets = {word.lower().replace("ё", "е") for word in _STREET_WORD.findall(text)}
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
                        if written in streets:
                            continue
                        weight = _LONE_DISTRICT  # «Центральный» may be «центральное отопление»
                    if (entry, written) in seen:
                        continue  # the subject and the text name the same place: one piece of evidence
                    seen.add((entry, written))
                    found.append((weight, entry, written))
        return found

    def _from_places(self, found: list[tuple[float, _Entry, str]], *, bonus: float = 0.0,
                     where: str = "") -> Territory:
        # The most specific evidence wins; agreement between pieces of evidence raises confidence.
        best_weight, best, _ = max(found, key=lambda item: item[0])
        agreeing = {e.unit for _, e, _ in found if e.unit == best.unit}
        disagreeing = {e.unit for _, e, _ in found} - agreeing
        confidence = min(0.99, best_weight + bonus + 0.05 * (len(found) - 1)) if not disagreeing else best_weight / 2
        evidence = [f"{where}{entry.kind} «{entry.name}» (written «{p}») → {entry.district}" for _, entry, p in found]
        return self._territory(best.unit, best.region, best.district, confidence, evidence,
                               "form" if where else best.kind)

    def named(self, value: str) -> _Entry | None:
        """The place a form's territory field names exactly (a unit code, a district, a settlement, a street)."""
        if value in self.branch_of:
            region, district = self.district_of_unit.get(value, (None, None))
            return _Entry("unit", self.unit_names[value], region or "", district or "", value)
        entries = self.names.get(_key(value), [])
        return entries[0] if len({e.unit for e in entries}) == 1 else None

    def choices(self) -> list[tuple[str, str]]:
        """(value, label) of every district and settlement: what a web form may offer for its territory field."""
        seen: dict[str, str] = {}
        for entries in self.names.values():
            for entry in entries:
                if entry.kind in ("district", "settlement") and entry.name not in seen:
                    seen[entry.name] = (f"{entry.region}, {entry.name}" if entry.kind == "district"
                                        else f"{entry.name} ({entry.district})")
        return sorted(seen.items(), key=lambda item: item[1])

    def detect(self, subject: str, text: str, account: str | None = None, *,
               form: Mapping[str, str] | None = None, earlier: Earlier | None = None) -> Territory:
        form = form or {}
        unread: list[str] = []
        chosen = (form.get("territory") or "").strip()
        if chosen:
            entry = self.named(chosen)
            if entry is not None:
                return self._territory(entry.unit, entry.region or None, entry.district or None, _WEIGHT["form"],
                                       [(f"web form: territory «{chosen}» → {entry.kind} «{entry.name}», "
                                        f"unit {entry.unit}")], "form")
            unread.append(f"web form: territory «{chosen}» is not a place of the rules file")
        address = (form.get("address") or "").strip()
        if address:
            found = self._places(address)
            if found:
                t = self._from_places(found, bonus=_WEIGHT["form_address"] - 0.9, where="web form address: ")
                return Territory(t.region, t.district, t.unit, t.unit_name, t.branch, t.confidence,
                                 unread + t.evidence, t.source)
        found = self._places(f"{subject}\n{text}")
        if found:
            t = self._from_places(found)
            return Territory(t.region, t.district, t.unit, t.unit_name, t.branch, t.confidence,
                             unread + t.evidence, t.source)
        numbers = [n for n in (form.get("account"), account) if n] + self.account.findall(text)
        for number in numbers:
            for prefix, unit in self.prefixes:
                if number.startswith(prefix):
                    return self._territory(unit, None, None, _WEIGHT["account"],
                                           unread + [f"account {number} starts with {prefix} → unit {unit}"],
                                           "account")
        if earlier is not None and earlier.unit_name in self.unit_of_name:
            unit = self.unit_of_name[earlier.unit_name]
            return self._territory(unit, earlier.region, earlier.district, _WEIGHT["earlier"],
                                   unread + [(f"the customer's earlier appeal {earlier.number} was "
                                             f"in {earlier.district or earlier.region} → unit {unit}")], "earlier")
        return Territory(evidence=unread + ["no street, settlement, district or account number found"])
