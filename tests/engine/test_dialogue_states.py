"""The engine's kept dialogue states (bot/engine/dialogue_states.py).

Every story and rule of data/ and every end-to-end test conversation, cut at every event,
gives the same states with the cache as Rasa's own computation, for every combination of
arguments the policies use; a second call is served from the cache, and what a caller changes
in its states never reaches the next one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rasa.core.training import load_data
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.importers.importer import TrainingDataImporter

from bot.engine import dialogue_states

RULE_ONLY_DATA = {"rule_only_slots": ["language"], "rule_only_loops": ["handoff_form"]}
ARGUMENTS: list[dict[str, Any]] = [
    {},
    {"omit_unset_slots": True},
    {"ignore_rule_only_turns": True, "rule_only_data": RULE_ONLY_DATA},
    {"ignore_rule_only_turns": True, "rule_only_data": RULE_ONLY_DATA, "omit_unset_slots": True},
]


def test_kept_states_are_rasas_own_for_every_story_cut_at_every_event(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    importer = TrainingDataImporter.load_from_dict(
        domain_path=str(root / "domain.yml"),
        training_data_paths=[str(root / "data" / "stories"), str(root / "tests" / "e2e")],
    )
    domain = importer.get_domain()
    stories = load_data(importer, domain, augmentation_factor=0)
    original = Domain.states_for_tracker_history
    trackers = []
    for story in stories:
        events = list(story.events)
        for end in range(1, len(events) + 1):
            tracker = DialogueStateTracker.from_events(story.sender_id, events[:end], domain.slots)
            tracker.is_rule_tracker = story.is_rule_tracker
            trackers.append(tracker)
    expected = [[original(domain, t, **a) for a in ARGUMENTS] for t in trackers]

    computed = 0

    def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal computed
        computed += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(Domain, "states_for_tracker_history", counting)
    installed = [dialogue_states.install(), dialogue_states.install()]
    mismatches, leaks = 0, 0
    for tracker, wanted in zip(trackers, expected, strict=True):
        for a, states in zip(ARGUMENTS, wanted, strict=True):
            first = tracker.past_states(domain, **a)
            mismatches += first != states
            # The featurizers delete parts of states in place: none of that may reach the next.
            for state in first:
                for sub_state in state.values():
                    sub_state.clear()
            second = tracker.past_states(domain, **a)
            mismatches += second != states
            leaks += any(not sub for state in second for sub in state.values())
    asked = 2 * len(trackers) * len(ARGUMENTS)
    nonempty = sum(bool(s) for w in expected for s in w)

    assert installed == [True, False]
    # Stories and rules both, cut at hundreds of points, with real states to compare.
    assert len(stories) >= 60 and sum(t.is_rule_tracker for t in trackers) > 0
    assert len(trackers) >= 500
    assert nonempty >= len(trackers)
    assert mismatches == 0
    assert leaks == 0
    # The second call of each pair came from the cache: half the calls were worked out.
    assert computed * 2 == asked
