"""A small hand-made catalogue terms document, shared by the NLU tests."""

from __future__ import annotations

from typing import Any

# The shape of `python -m catalogue terms --json`, by hand.
TERMS: dict[str, list[dict[str, Any]]] = {
    "units": [
        {"id": "adl", "title": "ADL", "title_en": "Daily living", "synonyms": ["adl", "wassen"]},
    ],
    "qualifications": [
        {"id": "vig_3", "title": "Verzorgende-IG", "title_en": None, "synonyms": ["25656"]},
    ],
    "routes": [{"id": "bbl", "title": "BBL", "synonyms": ["werken  en\tleren"]}],
    "funding": [{"id": "slim", "title": "SLIM", "synonyms": []}],
}
