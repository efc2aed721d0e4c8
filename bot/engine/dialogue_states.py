"""Dialogue states worked out once per tracker instead of once per policy (Rasa 3.6).

Engine side (.venv-rasa). To predict the next action, each policy (RulePolicy,
MemoizationPolicy, TEDPolicy) turns the tracker into its list of dialogue states with
`Domain.states_for_tracker_history`, which replays every event of the conversation. Within one
prediction MemoizationPolicy and TEDPolicy ask for exactly the same list (both ignore rule-only
turns, with the same rule-only data), and RulePolicy may ask twice: about 5 % of the engine's
busy time, a third of it repeated (py-spy, docs/performance.md).

`install()` keeps the last few results, keyed by the domain, the arguments and the identity of
every event object of the tracker (the cache holds on to those objects, so an identity cannot
be reused while its entry lives). A tracker with one more event, or a rewound one, has another
key and is worked out afresh. Callers change states in place (the featurizers delete the user's
text or intent from a state), so every caller gets its own copy of each state and sub-state,
which is what a fresh computation gives it. Installed by the tracker store, which every engine
of ours loads, as bot/engine/action_validation.py is.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

logger = logging.getLogger(__name__)

_MARK = "_zijwijzer_states_cache"
# A prediction asks for two or three different lists; a turn runs a few predictions in a row,
# and other conversations' turns run in between only at an `await`, never inside a prediction.
CACHE_ENTRIES = 8


def _copy(states: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # Sub-state values are strings, numbers and tuples: two levels make it independent.
    return [{name: dict(sub_state) for name, sub_state in state.items()} for state in states]


def install() -> bool:
    """Wraps `Domain.states_for_tracker_history`; True when done now, False if already."""
    from rasa.shared.core.domain import Domain

    original = Domain.states_for_tracker_history
    if getattr(original, _MARK, False):
        return False
    cache: OrderedDict[tuple[Any, ...], tuple[tuple[Any, ...], list[dict[str, Any]]]] = (
        OrderedDict()
    )

    def states_for_tracker_history(
        self: Any,
        tracker: Any,
        omit_unset_slots: bool = False,
        ignore_rule_only_turns: bool = False,
        rule_only_data: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        events = tuple(tracker.events)
        key = (
            id(self),
            id(rule_only_data),
            tracker.sender_id,
            tracker.is_rule_tracker,
            omit_unset_slots,
            ignore_rule_only_turns,
            *map(id, events),
        )
        hit = cache.get(key)
        if hit is not None:
            cache.move_to_end(key)
            return _copy(hit[1])
        states: list[dict[str, Any]] = original(
            self,
            tracker,
            omit_unset_slots=omit_unset_slots,
            ignore_rule_only_turns=ignore_rule_only_turns,
            rule_only_data=rule_only_data,
        )
        # The domain, the rule-only data and the events stay referenced with the entry, so
        # no id in its key can be reused by another object while it is kept.
        cache[key] = ((self, rule_only_data, events), _copy(states))
        while len(cache) > CACHE_ENTRIES:
            cache.popitem(last=False)
        return states

    setattr(states_for_tracker_history, _MARK, True)
    Domain.states_for_tracker_history = states_for_tracker_history
    logger.debug("dialogue states: kept for the last %d trackers", CACHE_ENTRIES)
    return True
