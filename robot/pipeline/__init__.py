"""The pipeline: parse → classify → decide → register → route → reply, one unit of work per batch."""

from robot.pipeline.process import process_many

__all__ = ["process_many"]
