"""Deadlines: the working-day calendar, the answer limits of the Standard, and what falls due (R13–R16).

calendar.py (the production calendar, pre-holiday days, working hours) ← calendar_file.py
(calendar.yaml) ← calendars.py (the calendars in force, reloaded) ; limits.py (R13, R14) →
plan.py (an appeal's due date and its due-action rows) → schedule.py (RQ holds only what is near)
→ actions.py (remind, escalate, the R15 notice; notify.py writes the mail) ; service.py (what the
desk calls: extend, mark_answered, close_blocker) ; recompute.py and reconciler.py (after the
rules change; the reconciler's part).
"""
