"""Locust users for `make bench-prod`: side-entrants chatting in the widget, with think time.

Each simulated user opens a widget conversation through the load balancer, as the website
widget does (POST /webhooks/widget/conversations, then one POST /webhooks/widget/webhook per
message with the conversation's token), types a whole conversation with a pause between
messages, and starts a new one when it is done. Every message is one request named "turn",
so locust's figures for "turn" are per-turn latencies; opening a conversation is counted
apart ("open conversation").

A reply that is not a JSON list of bot messages, or an empty one, counts as a failure: a
load test that only counts HTTP 200 would call a silently lost turn a success.

Run by bench/prod.py (`make bench-prod`); by hand:
    .venv/bin/locust -f bench/locustfile.py --headless -u 50 -r 10 -t 60s --host http://127.0.0.1:8080
"""

from __future__ import annotations

import itertools
import os
from typing import Any

from locust import HttpUser, between, task

# Whole conversations as people type them: an intake that reaches the advice, with a question
# in the middle, in Dutch and in English, and a recruiter. Replies the bot does not expect
# are fine, as long as every message is answered.
CONVERSATIONS: list[list[str]] = [
    [
        "hoi",
        "ik ben 38 en wil in de ouderenzorg werken",
        "havo",
        "nee",
        "2 jaar mantelzorg voor mijn moeder",
        "nee nog geen werkgever",
        "24 uur",
        "wat is een leereenheid?",
        "zo snel mogelijk aan het werk",
        "nee",
        "Utrecht",
        "waarom?",
        "bedankt, doei",
    ],
    [
        "Hello, I only speak a little Dutch",
        "I am 45",
        "bachelor in accounting",
        "no",
        "no experience",
        "no employer yet",
        "fulltime",
        "disability care",
        "a job quickly",
        "yes I get unemployment benefit",
        "Rotterdam",
        "what does it cost?",
        "thanks",
    ],
    [
        "ik vraag dit voor een kandidaat",
        "ze is 52",
        "mbo 2 helpende",
        "ja, helpende zorg en welzijn",
        "ik werk al 7 jaar als begeleider",
        "ja, een erkend leerbedrijf",
        "32 uur",
        "gehandicaptenzorg",
        "een diploma halen",
        "nee",
        "Zwolle",
        "wat is de derde leerweg?",
        "dank je",
    ],
]

# Think time between messages: people read the answer and type the next one.
THINK_MIN_SECONDS = float(os.environ.get("ZIJWIJZER_BENCH_THINK_MIN", "3"))
THINK_MAX_SECONDS = float(os.environ.get("ZIJWIJZER_BENCH_THINK_MAX", "8"))
# Users take the conversations in turn, so every load mixes all of them.
_next_conversation = itertools.cycle(range(len(CONVERSATIONS)))


class SideEntrant(HttpUser):
    wait_time = between(THINK_MIN_SECONDS, THINK_MAX_SECONDS)

    def on_start(self) -> None:
        self.script: list[str] = []
        self.conversation_id = ""
        self.token = ""

    def _open(self) -> bool:
        with self.client.post(
            "/webhooks/widget/conversations", name="open conversation", catch_response=True
        ) as answer:
            if answer.status_code != 201:
                answer.failure(f"status {answer.status_code}")
                return False
            body: dict[str, Any] = answer.json()
            self.conversation_id = body["conversation_id"]
            self.token = body["token"]
            self.script = list(CONVERSATIONS[next(_next_conversation)])
            return True

    @task
    def say_next(self) -> None:
        if not self.script and not self._open():
            return
        message = self.script.pop(0)
        with self.client.post(
            "/webhooks/widget/webhook",
            name="turn",
            json={"conversation_id": self.conversation_id, "message": message},
            headers={"Authorization": f"Bearer {self.token}"},
            catch_response=True,
        ) as answer:
            if answer.status_code != 200:
                answer.failure(f"status {answer.status_code}")
                return
            try:
                replies = answer.json()
            except ValueError:
                answer.failure("not JSON")
                return
            if not isinstance(replies, list) or not replies:
                answer.failure("no reply")
