"""The browser helper leaves the main thread fit for async tests once it is closed."""

from __future__ import annotations

import asyncio

from tests.browser import chromium


async def answer() -> str:
    await asyncio.sleep(0)
    return "ran"


def test_an_event_loop_runs_again_after_the_browser_closes() -> None:
    with chromium() as browser:
        browser.new_context().close()
        # While Playwright's sync API is open its loop counts as running in this thread.
        assert asyncio._get_running_loop() is not None
    assert asyncio.run(answer()) == "ran"
