"""A tiny terminal client for the REST channel of a running assistant (`make run`).

The REST channel wants `Authorization: Bearer <ZIJWIJZER_REST_API_KEY>`
(bot/engine/channels/rest.py);
this client takes the key from the same settings the engine reads, so nothing to configure.

Type a message and press Enter. When the bot shows buttons, type a button's number to
send its payload. Ctrl-D or Ctrl-C ends the chat. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `bot` importable
    sys.path.insert(0, str(ROOT))

from bot.common.settings import load_settings  # noqa: E402

ROOT_HINT = "start the assistant first with `make run`"


def send(
    url: str, sender: str, message: str, api_key: str, timeout: float = 330.0
) -> list[dict[str, Any]]:
    # The engine may wait up to 300 s for the action server; wait a little longer.
    body = json.dumps({"sender": sender, "message": message}).encode()
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"not an http(s) URL: {url}")
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {api_key}"}
    request = urllib.request.Request(  # noqa: S310 (scheme checked above)
        url, data=body, headers=headers, method="POST"
    )
    with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
        replies: list[dict[str, Any]] = json.load(answer)
    return replies


def show(reply: dict[str, Any], buttons: list[dict[str, Any]]) -> None:
    """Prints one bot message; its buttons are numbered after the ones already shown."""
    if "text" in reply:
        print(f"bot> {reply['text']}")
    custom = reply.get("custom")
    if isinstance(custom, dict) and custom.get("type") == "advice":
        # The plan's card (catalogue/plan_view.py); the whole plan is behind its link.
        print("bot> [plan]")
        for step in custom.get("steps", []):
            print(f"     {step.get('number')}. {step.get('title')}")
        if custom.get("link"):
            print(f"     {custom['link']} (until {custom.get('link_until')})")
    elif custom is not None:
        print(f"bot> [custom] {json.dumps(custom, ensure_ascii=False)}")
    for button in reply.get("buttons", []):
        buttons.append(button)
        print(f"     [{len(buttons)}] {button.get('title')}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Chat with Zijwijzer over the REST channel.")
    parser.add_argument("--url", default=None, help="webhook URL (default from the settings)")
    parser.add_argument("--sender", default=None, help="conversation id (default: a new one)")
    args = parser.parse_args(argv)
    settings = load_settings()
    if not settings.rest_api_key:
        print("The REST channel is off (ZIJWIJZER_REST_API_KEY=off).", file=sys.stderr)
        return 1
    url = args.url or f"http://127.0.0.1:{settings.rasa_port}/webhooks/rest/webhook"
    sender = args.sender or f"chat-{uuid.uuid4().hex[:8]}"
    print(f"Chatting as {sender} with {url}. Ctrl-D ends the chat.")
    buttons: list[dict[str, Any]] = []
    while True:
        try:
            text = input("you> ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if not text:
            continue
        if text.isdigit() and 1 <= int(text) <= len(buttons):
            text = str(buttons[int(text) - 1]["payload"])
        buttons = []
        try:
            replies = send(url, sender, text, settings.rest_api_key)
        except urllib.error.HTTPError as error:
            if error.code != 401:
                raise
            print(
                f"{url} refused the REST key (401): the engine runs with another "
                "ZIJWIJZER_SECRET_KEY or ZIJWIJZER_REST_API_KEY.",
                file=sys.stderr,
            )
            return 1
        except (urllib.error.URLError, ConnectionError) as error:
            print(f"Cannot reach {url} ({error}); {ROOT_HINT}.", file=sys.stderr)
            return 1
        for reply in replies:
            show(reply, buttons)


if __name__ == "__main__":
    sys.exit(main())
