"""Which letters a Latin-alphabet voice can read."""

from __future__ import annotations

import unicodedata

_READABLE_SCRIPTS = ("LATIN", "GREEK")


def unreadable_characters(text: str) -> str:
    """Letters a Latin-alphabet voice cannot read (CJK, Arabic, Cyrillic, ...), each once, in order.

    Such a voice reads them letter by letter ("Chinese letter", "Arabic meem") or not at all, so
    the producer should be told. Greek letters are read by name and pass.
    """
    found: dict[str, None] = {}
    for char in text:
        if char.isascii() or not char.isalpha() or char in found:
            continue
        name = unicodedata.name(char, "")
        if not any(script in name for script in _READABLE_SCRIPTS) and not name.startswith("MICRO"):
            found[char] = None
    return "".join(found)
