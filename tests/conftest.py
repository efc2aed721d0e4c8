"""Fixtures shared by all test packages."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import Browser

from catalogue.compiled import Catalogue
from catalogue.reader import load_directory
from tests.browser import chromium
from tests.channels.fake_botframework import FakeBotFramework, fake_bot_framework
from tests.channels.fake_meta import FakeGraphApi, fake_graph_api
from tests.channels.fakes import FakeApis, fake_apis
from tests.stack import Stack, dutch_responses, start_stack, strict_env

# The engine's tests run in the engine's runtime (.venv-rasa): `make pytest-engine-runtime`.
collect_ignore = ["engine"]


@pytest.fixture(scope="session")
def real_catalogue() -> Catalogue:
    """The catalogue from catalogue/data, read once: it is immutable, so sharing it is safe."""
    return load_directory()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The whole assistant running (engine, action server, web app), shared by the tests
    that only talk to it as users do, each in its own conversation. About 40 s to start."""
    with start_stack(tmp_path_factory.mktemp("stack")) as running:
        yield running


@dataclass
class StrictStack:
    stack: Stack
    # The fake Telegram and Slack APIs the recruiter channels talk to.
    fake: FakeApis
    # WhatsApp's fake Graph API and Teams' fake Bot Framework.
    graph: FakeGraphApi
    bot_framework: FakeBotFramework


@pytest.fixture(scope="session")
def strict_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StrictStack]:
    """A second whole assistant, started once for the session and shared by the recruiter
    channel tests and the refusal tests: the HTTP API off, low widget limits, the client
    address from a proxy header, Telegram and Slack against a fake API, WhatsApp and Teams
    against a fake Graph API and a fake Bot Framework (tests/stack.py, strict_env). About
    40 s to start; shared, so no test module starts its own."""
    with fake_apis() as fake, fake_graph_api() as graph, fake_bot_framework() as bot_framework:
        folder = tmp_path_factory.mktemp("strict")
        env = strict_env(fake.url, graph.url, bot_framework.url)
        with start_stack(folder, extra_env=env) as running:
            yield StrictStack(running, fake, graph, bot_framework)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Debian Chromium (tests/browser.py); each test opens its own context.

    Per module, not per session: Playwright's sync API leaves its event loop marked as running
    in the main thread while it is open, and every async test run after that would fail.
    """
    with chromium() as running:
        yield running


@pytest.fixture(scope="session")
def dutch() -> dict[str, dict[str, Any]]:
    """The Dutch (default) variant of every response in domain.yml, by name."""
    return dutch_responses()
