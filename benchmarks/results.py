"""What the benchmarks share for RESULTS.md: each script owns one section between two markers, and rewrites it."""

from __future__ import annotations

import re
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")


def update_section(key: str, text: str, *, heading: str = "", at_top: bool = False, path: Path = RESULTS) -> None:
    """replace the text between ``<!-- key: begin -->`` and ``<!-- key: end -->`` with ``text``; the first
    time, add the section (after ``heading``, a line written outside the markers) at the end of the file, or
    after its title with ``at_top``"""
    begin, end = f"<!-- {key}: begin -->", f"<!-- {key}: end -->"
    old = path.read_text(encoding="utf-8")
    section = f"{begin}\n{text}\n{end}"
    if begin in old:
        new = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: section, old, flags=re.S)
    else:
        section = f"{heading}\n\n{section}" if heading else section
        if at_top:
            title, _, rest = old.partition("\n\n")
            new = f"{title}\n\n{section}\n\n{rest}"
        else:
            new = old.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(new, encoding="utf-8")
