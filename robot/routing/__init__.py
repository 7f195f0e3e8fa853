"""Routing by territory and kind (R10–R12): routing_rules.yaml, checked, testable, explainable.

facts.py (what routing sees and decides) → territory.py (where from, with evidence) →
conditions.py / actions.py (the registries of `when:` and `then:` names) → engine.py (the
ordered table, hot reload) ; load.py checks the file, required.py says what data is missing,
history.py finds the customer's earlier territory.
"""

from robot.routing.engine import Calendar, Router, Table
from robot.routing.facts import Facts, Routing
from robot.routing.load import LoadedRules, Problem, RulesError, load_rules
from robot.routing.territory import Earlier, Gazetteer, Territory

__all__ = ["Calendar", "Earlier", "Facts", "Gazetteer", "LoadedRules", "Problem", "Router", "Routing", "RulesError",
           "Table", "Territory", "load_rules"]
