"""What the bot says and remembers in one turn, built up by the dialogue and sent at the end.

Messages are domain.yml responses by name (the engine renders them in the user's language and
role) or JSON payloads (the advice cards); slot changes become SlotSet events.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypedDict

from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.render import render


class Message(TypedDict, total=False):
    response: str
    values: dict[str, Any]
    json: Mapping[str, Any]


@dataclass
class Reply:
    """The bot's turn: messages in order, slot changes, and an action to run next."""

    messages: list[Message] = field(default_factory=list)
    slots: dict[str, Any] = field(default_factory=dict)
    followup: str | None = None
    # Whether the last message asks something or offers a choice (then nothing is added).
    prompted: bool = False

    def say(self, response: str, **values: Any) -> None:
        self.messages.append({"response": response, "values": values})
        self.prompted = False

    def ask(self, response: str, **values: Any) -> None:
        """A message that ends the turn with a question or a choice."""
        self.messages.append({"response": response, "values": values})
        self.prompted = True

    def payload(self, data: Mapping[str, Any]) -> None:
        self.messages.append({"json": data})

    def set(self, slot: str, value: Any) -> None:
        self.slots[slot] = value

    @property
    def said(self) -> list[str]:
        return [m["response"] for m in self.messages if "response" in m]

    def fingerprint(self) -> str:
        """What this turn says, to notice the same turn again."""
        return json.dumps(
            [[m.get("response"), m.get("values")] for m in self.messages if "response" in m],
            sort_keys=True,
            default=str,
        )

    def send(
        self,
        dispatcher: CollectingDispatcher,
        rendered_with: Mapping[str, Any] | None = None,
        domain: DomainDict | None = None,
    ) -> list[EventType]:
        """The messages to the dispatcher, the slot changes as events.

        With `rendered_with` (the slots as this turn leaves them) and the domain, responses
        are rendered here instead of by the engine (actions/render.py says when and why).
        """
        for message in self.messages:
            if "json" in message:
                dispatcher.utter_message(json_message=message["json"])
            elif rendered_with is not None and domain is not None:
                values = message.get("values", {})
                dispatcher.utter_message(
                    **render(domain, message["response"], rendered_with, values)
                )
            else:
                dispatcher.utter_message(response=message["response"], **message.get("values", {}))
        events: list[EventType] = [SlotSet(slot, value) for slot, value in self.slots.items()]
        if self.followup is not None:
            events.append(FollowupAction(self.followup))
        return events
