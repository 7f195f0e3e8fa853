"""Deadlines: the working-day calendar and the answer limits of the Standard (R13–R16)."""
