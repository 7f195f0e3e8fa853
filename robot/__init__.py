"""mailrobot: the Mail-robot and Internet reception of a grid company's customer service.

The flow reads from the tree: ``intake`` (SMTP, later IMAP and web forms) stores raw input,
``pipeline`` parses, classifies and registers it, ``deadlines`` computes due dates, ``mail``
composes and delivers what the robot sends, and ``storage`` is the system of record.
"""
