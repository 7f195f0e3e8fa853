"""Intake: every way in stores the raw input and commits before the sender is told "accepted"."""

from robot.intake.accept import Accepted, accept

__all__ = ["Accepted", "accept"]
