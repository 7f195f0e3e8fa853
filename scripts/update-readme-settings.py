"""Rewrite the settings table in README.md from robot.config (tests/test_settings.py checks they agree)."""

from pathlib import Path

from robot.config import PROJECT_ROOT, settings_table

readme: Path = PROJECT_ROOT / "README.md"
text = readme.read_text(encoding="utf-8")
start = text.index("| Variable | Default | Meaning |")
end = text.index("\n\n", start)
readme.write_text(text[:start] + settings_table() + text[end:], encoding="utf-8")
