"""Routing by territory and kind (R10–R12): routing_rules.yaml, checked, testable, explainable."""

from robot.routing.engine import Facts, Router, Routing, route
from robot.routing.load import LoadedRules, Problem, RulesError, load_rules
from robot.routing.territory import Gazetteer, Territory

__all__ = ["Facts", "Gazetteer", "LoadedRules", "Problem", "Router", "Routing", "RulesError", "Territory",
           "load_rules", "route"]
