"""The engine's kept dialogue states (bot/engine/dialogue_states.py), in .venv-rasa.

Every story and rule of data/ and every end-to-end test conversation, cut at every event,
gives the same states with the cache as Rasa's own computation, for every combination of
arguments the policies use; a second call is served from the cache, and what a caller changes
in its states never reaches the next one.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.engine_runtime import run_in_engine_runtime
from tools.assistant import ROOT

CHECK = """
import json, sys
from rasa.core.training import load_data
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.importers.importer import TrainingDataImporter
from bot.engine import dialogue_states

root = sys.argv[1]
importer = TrainingDataImporter.load_from_dict(
    domain_path=f"{root}/domain.yml",
    training_data_paths=[f"{root}/data/stories", f"{root}/tests/e2e"],
)
domain = importer.get_domain()
stories = load_data(importer, domain, augmentation_factor=0)
rule_only_data = {"rule_only_slots": ["language"], "rule_only_loops": ["handoff_form"]}
arguments = [
    {},
    {"omit_unset_slots": True},
    {"ignore_rule_only_turns": True, "rule_only_data": rule_only_data},
    {"ignore_rule_only_turns": True, "rule_only_data": rule_only_data, "omit_unset_slots": True},
]
original = Domain.states_for_tracker_history
trackers = []
for story in stories:
    events = list(story.events)
    for end in range(1, len(events) + 1):
        tracker = DialogueStateTracker.from_events(story.sender_id, events[:end], domain.slots)
        tracker.is_rule_tracker = story.is_rule_tracker
        trackers.append(tracker)
expected = [[original(domain, t, **a) for a in arguments] for t in trackers]

computed = 0
def counting(*args, **kwargs):
    global computed
    computed += 1
    return original(*args, **kwargs)
Domain.states_for_tracker_history = counting
installed = [dialogue_states.install(), dialogue_states.install()]
mismatches, leaks = 0, 0
for tracker, wanted in zip(trackers, expected):
    for a, states in zip(arguments, wanted):
        first = tracker.past_states(domain, **a)
        mismatches += first != states
        # The featurizers delete parts of states in place: none of that may reach the next.
        for state in first:
            for sub_state in state.values():
                sub_state.clear()
        second = tracker.past_states(domain, **a)
        mismatches += second != states
        leaks += any(not sub for state in second for sub in state.values())
print(json.dumps({
    "installed": installed, "trackers": len(trackers), "stories": len(stories),
    "rule_trackers": sum(t.is_rule_tracker for t in trackers),
    "mismatches": mismatches, "leaks": leaks, "computed": computed,
    "asked": 2 * len(trackers) * len(arguments),
    "nonempty": sum(bool(s) for w in expected for s in w),
}))
"""


def test_kept_states_are_rasas_own_for_every_story_cut_at_every_event(tmp_path: Path) -> None:
    done = run_in_engine_runtime(CHECK, str(ROOT), cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["installed"] == [True, False]
    # Stories and rules both, cut at hundreds of points, with real states to compare.
    assert result["stories"] >= 60 and result["rule_trackers"] > 0
    assert result["trackers"] >= 500
    assert result["nonempty"] >= result["trackers"]
    assert result["mismatches"] == 0
    assert result["leaks"] == 0
    # The second call of each pair came from the cache: half the calls were worked out.
    assert result["computed"] * 2 == result["asked"]
