"""The pipeline: parse → classify → register → acknowledge, one unit of work per raw message."""

from robot.pipeline.process import process_raw

__all__ = ["process_raw"]
