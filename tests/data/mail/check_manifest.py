#!/usr/bin/env python3
"""Sanity check for the mail corpus (stdlib only).

For every manifest entry: the file exists, the entry has the expected shape,
and ``email.parser.BytesParser(policy=email.policy.default)`` parses the file
without raising.  Those are the only failures (exit status 1).

Everything else is *reported*, never asserted: how long parsing took, how many
MIME parts and defects Python's stdlib finds, and whether lazily parsed header
objects (From, Subject) raise when accessed.  Judging decoding quality against
the ``expect`` block is the product's tests' job, not this script's.

    python3 tests/data/mail/check_manifest.py [-v]
"""

import email.parser
import email.policy
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
EXPECT_KEYS = {
    "from_addr": (str, type(None)),
    "subject_contains": (str, type(None)),
    "body_contains": (str, type(None)),
    "attachments": (int,),
    "defective": (bool,),
}


def shape_problems(entry):
    problems = []
    for key in ("file", "case", "source", "licence", "expect"):
        if key not in entry:
            problems.append("missing key %r" % key)
    expect = entry.get("expect", {})
    for key, types in EXPECT_KEYS.items():
        if key not in expect:
            problems.append("expect lacks %r" % key)
        elif not isinstance(expect[key], types) or (key == "attachments" and isinstance(expect[key], bool)):
            problems.append("expect[%r] has type %s" % (key, type(expect[key]).__name__))
    addr = expect.get("from_addr")
    if isinstance(addr, str) and addr != addr.lower():
        problems.append("from_addr is not lower-case")
    return problems


def soft_report(msg):
    """Informational look at what the stdlib makes of the message."""
    notes = []
    parts = defects = 0
    for part in msg.walk():
        parts += 1
        defects += len(part.defects)
    notes.append("parts=%d" % parts)
    notes.append("stdlib_defects=%d" % defects)
    for name in ("from", "to", "subject", "date"):
        try:
            value = msg[name]
            if value is not None:
                defects_h = len(getattr(value, "defects", ()))
                if defects_h:
                    notes.append("%s_header_defects=%d" % (name, defects_h))
        except Exception as exc:   # report only: lazily parsed headers may raise
            notes.append("%s access raised %s: %s" % (name, type(exc).__name__, exc))
    return notes


def main(argv):
    verbose = "-v" in argv
    with open(os.path.join(HERE, "manifest.json"), encoding="utf-8") as fh:
        manifest = json.load(fh)
    failures = 0
    seen = set()
    parser = email.parser.BytesParser(policy=email.policy.default)
    for entry in manifest:
        name = entry.get("file", "?")
        problems = shape_problems(entry)
        if name in seen:
            problems.append("listed twice")
        seen.add(name)
        path = os.path.join(HERE, name)
        if not os.path.isfile(path):
            problems.append("file does not exist")
        if problems:
            failures += 1
            print("FAIL  %s: %s" % (name, "; ".join(problems)))
            continue
        with open(path, "rb") as fh:
            data = fh.read()
        start = time.perf_counter()
        try:
            msg = parser.parsebytes(data)
        except Exception as exc:
            failures += 1
            print("FAIL  %s: parser raised %s: %s" % (name, type(exc).__name__, exc))
            continue
        elapsed = time.perf_counter() - start
        notes = ["%d bytes" % len(data), "parse %.3fs" % elapsed] + soft_report(msg)
        if verbose or any("raised" in n for n in notes):
            print("ok    %s: %s" % (name, ", ".join(notes)))
    on_disk = {f for f in os.listdir(HERE) if f.endswith(".eml")}
    public = os.path.join(HERE, "public")
    if os.path.isdir(public):
        on_disk |= {"public/" + f for f in os.listdir(public) if not f.endswith(".md")}
    for unlisted in sorted(on_disk - seen):
        print("note  %s is on disk but not in the manifest" % unlisted)
    print("%d entries, %d failed" % (len(manifest), failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
