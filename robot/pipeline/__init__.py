"""The pipeline: parse → classify → decide → register → route → reply, one unit of work per batch.

The entry point is ``robot.pipeline.process.process_many``. This package does not import it
eagerly: the web process uses ``robot.pipeline.correct`` and the reply matching, and must not load
the classifier's model (about 100 MB) only to import them.
"""
