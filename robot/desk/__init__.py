"""The specialists' desk, without the web: what staff do with appeals, the journal, the reports.

The web pages (robot/web/desk.py) and the CLI call these; every change is written together with
its history event and its audit entry, in one unit of work.
"""
