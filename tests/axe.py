"""axe-core in the browser tests: the accessibility checker, injected into a page under test.

axe-core comes from npm at install time (`make axe`: the version pinned in package-lock.json,
into the git-ignored node_modules/); nothing is fetched while the tests run. A page's
Content-Security-Policy would refuse the injected script, so the contexts that run axe are
made with `bypass_csp=True` (the CSP itself is tested elsewhere, without it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import pytest
from playwright.sync_api import Page

AXE_SCRIPT: Final = Path(__file__).resolve().parents[1] / "node_modules" / "axe-core" / "axe.min.js"
# The impacts a page must not have (axe also reports "moderate" and "minor").
BLOCKING: Final = ("serious", "critical")


def axe_source() -> str:
    if not AXE_SCRIPT.is_file():
        pytest.fail(f"axe-core is not installed ({AXE_SCRIPT} is missing): run `make axe` (npm ci)")
    return AXE_SCRIPT.read_text(encoding="utf-8")


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe's violations on the page as it is now (open shadow roots included), WCAG 2.x A/AA
    and best practices."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(content=axe_source())
    result: dict[str, Any] = page.evaluate(
        """async () => await window.axe.run(document, {
            resultTypes: ["violations"],
            runOnly: {type: "tag", values: [
                "wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]},
        })"""
    )
    violations: list[dict[str, Any]] = result["violations"]
    return violations


def blocking(violations: list[dict[str, Any]]) -> list[str]:
    """The serious and critical ones, one line each: rule, impact, where."""
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + "; ".join(" ".join(map(str, node["target"])) for node in v["nodes"][:3])
        for v in violations
        if v.get("impact") in BLOCKING
    ]
