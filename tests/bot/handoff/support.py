"""Sample handoff requests for the handoff tests."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot.handoff.store import NewHandoff

PROFILE: dict[str, Any] = {
    "answers": [{"field": "age", "label": "Leeftijd", "value": 38, "shown": "38"}],
    "skipped": [],
    "recruiter": False,
}


def new_handoff(**changes: Any) -> NewHandoff:
    base = NewHandoff(
        conversation_id="conversation-1",
        turn="1700000000.5",
        channel="rest",
        language="nl",
        contact_preference="phone",
        contact="+31612345678",
        consent=True,
        region="Almere",
        profile_summary=PROFILE,
        advice_summary={"route": {"id": "bbl", "title": "BBL"}, "units": []},
    )
    return replace(base, **changes)
