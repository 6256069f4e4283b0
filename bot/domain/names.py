"""How names of schools and cities compare: the one key every lookup uses.

People type "École Européenne", "école  européenne" or "ECOLE EUROPÉENNE" and mean the same
school. Databases do not agree on case-insensitive comparison (SQLite's lower() only knows
ASCII), so the comparison is made here, in Python, and stored as a key column.
"""

from __future__ import annotations

import unicodedata


def name_key(text: str) -> str:
    """The form two names are compared in: NFKC, case-folded, whitespace collapsed.

    NFKC first so that composed and decomposed accents ("é" as one or two code points) and
    compatibility forms (full-width letters, ligatures) agree; case folding is Unicode's
    (ß → ss); NFKC again because folding can undo normalisation.
    """
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    return " ".join(folded.split())
