"""Plans' views for the web tests: the real catalogue's, and one whose every text is given."""

from __future__ import annotations

import copy
import datetime as dt
from functools import cache
from typing import Any

from catalogue.plan import make_plan
from catalogue.plan_view import PlanView, present
from catalogue.reader import load_directory
from tests.catalogue.samples import ISSUE_PROFILE

TODAY = dt.date(2026, 12, 7)


@cache
def _issue_view(language: str) -> PlanView:
    catalogue = load_directory()
    return present(make_plan(catalogue, {**ISSUE_PROFILE, "language": language}, today=TODAY))


def issue_view(language: str = "nl") -> PlanView:
    """The plan of the issue's 38-year-old (no care employer, 24 hours, elderly care, wants to
    work soon, Utrecht), as it is saved."""
    return copy.deepcopy(_issue_view(language))


def view_with_text(text: str, *, url: str | None = "javascript:alert(1)") -> dict[str, Any]:
    """The 38-year-old's view with every free text (titles, steps, notes, words, sources, the
    contact) replaced by `text`; a source's url by `url`."""
    view: dict[str, Any] = dict(issue_view())
    view["contact"] = text
    view["target"] = {**view["target"], "title": text}
    for step in view["steps"]:
        step.update(title=text, text=text, marks=[])
    for part in ("alternatives", "why", "not_possible", "notices", "facts"):
        for note in view[part]:
            note.update(title=text, text=text, marks=[])
    for word in view["glossary"]:
        word.update(title=text, text=text, marks=[])
    for source in view["sources"]:
        source.update(title=text, publisher=text, url=url)
    view["open_questions"] = [text]
    return view
