"""The pipeline: parse → classify → register → acknowledge, one unit of work per batch of raw messages."""

from robot.pipeline.process import process_many, process_raw

__all__ = ["process_many", "process_raw"]
