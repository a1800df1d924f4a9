"""The HTML export in a real headless Chromium (Debian's, driven by Playwright): the tree, a branch
clicked and its path shown, a tool result expanded, filters and search, images, and message content
that tries to run script and cannot. One browser for the whole module."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from kit_py.exchange.html import render_html
from tests.exchange_sessions import Built, build_session

CHROMIUM = "/usr/bin/chromium"


@dataclass
class _Viewer:
    page: Page
    uri: str
    problems: list[str]
    requests: list[str]


ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def built() -> Built:
    return build_session("/home/u/parser", None)


@pytest.fixture(scope="module")
def viewer(browser: Browser, built: Built, tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Viewer]:
    export = tmp_path_factory.mktemp("viewer") / "session.html"
    export.write_bytes(render_html(built.session))
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    shown = _Viewer(page, export.as_uri(), [], [])
    page.on("pageerror", lambda error: shown.problems.append(f"pageerror: {error}"))
    page.on(
        "console", lambda message: shown.problems.append(message.text) if message.type == "error" else None
    )
    page.on("request", lambda request: shown.requests.append(request.url))
    try:
        yield shown
    finally:
        context.close()


@pytest.fixture
def page(viewer: _Viewer) -> Iterator[tuple[Page, list[str]]]:
    """The export freshly loaded; script errors and CSP refusals (the page's own code must cause none)
    are collected, and every request it made must be the file itself or a data: URL."""
    viewer.problems.clear()
    viewer.page.goto("about:blank")
    viewer.page.goto(viewer.uri)
    viewer.page.wait_for_selector("body.ready")
    yield viewer.page, viewer.problems
    assert [u for u in viewer.requests if not u.startswith(("file:", "data:", "about:"))] == [], "offline"


def shown_ids(page: Page) -> list[str]:
    return page.eval_on_selector_all("#conversation [data-id]", "nodes => nodes.map(n => n.dataset.id)")


def visible_path(built: Built, leaf: str) -> list[str]:
    kinds = ("message", "model_change", "compaction", "branch_summary")
    return [
        e["id"] for e in built.session.path_entries(leaf) if e["type"] in kinds and e.get("role") != "tool"
    ]


def test_the_viewer_shows_the_tree_a_clicked_branch_and_an_expanded_tool_result(
    page: tuple[Page, list[str]], built: Built, tmp_path: Path
) -> None:
    view, problems = page
    header = view.inner_text("#header")
    assert "Parser fix" in header and "openai/gpt-4o · thinking high" in header and "$0.0250" in header
    assert "9 (4 answers)" in header, "messages and answers over every branch"
    leaf = built.session.leaf_id
    assert leaf is not None
    assert view.inner_text("#path-info").startswith("Active branch")
    assert shown_ids(view) == visible_path(built, leaf)
    text = view.inner_text("#conversation")
    assert "Docs written." in text and "Regex version done." not in text
    last_answer = [e for e in built.session.path_entries() if e["type"] == "message"][-1]
    assert view.eval_on_selector_all("#tree .node.leaf", "ns => ns.map(n => n.dataset.id)") == [
        last_answer["id"]
    ]
    assert "Compaction · 3 messages summarized (4,000 → 900 tokens)" in text

    view.click(f'#tree .node[data-id="{built.branch_answer}"]')
    assert view.inner_text("#path-info") == "Path to the selected entry · 6 entries from the root"
    assert shown_ids(view) == visible_path(built, built.branch_answer)
    text = view.inner_text("#conversation")
    assert "Regex version done." in text and "Tried a regex first." in text and "Docs written." not in text
    assert view.evaluate("location.hash") == f"#{built.branch_answer}"
    assert (
        view.get_attribute(f'#tree .node[data-id="{built.branch_answer}"]', "class").split().count("selected")
    )

    view.click(f'#tree .node[data-id="{built.main_answer}"]')
    result = view.locator('details.tool-result[data-call-id="call_1"]')
    assert result.get_attribute("open") is None, "a 40-line output starts folded"
    assert not view.locator('details.tool-result[data-call-id="call_1"] pre.output').is_visible()
    result.locator("summary").click()
    assert result.get_attribute("open") == ""
    output = result.locator("pre.output")
    assert output.is_visible() and output.inner_text().endswith("line 40: output of the test run")
    assert "exit 1" in result.locator("summary").inner_text()
    diff = view.locator('details.tool-result[data-call-id="call_2"] .hl-add')
    assert diff.inner_text() == "+b", "the edit's diff, highlighted"
    assert view.locator("details.reasoning").count() == 1
    assert view.locator("img.message-image").evaluate("img => img.naturalWidth") == 1, "data: images load"
    assert view.locator(".md pre.code .hl-keyword").first.inner_text() == "def"

    screenshot = tmp_path / "viewer.png"
    view.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.stat().st_size > 10_000
    assert problems == []


def test_message_content_never_runs_as_script(page: tuple[Page, list[str]], built: Built) -> None:
    view, problems = page
    view.click(f'#tree .node[data-id="{built.main_answer}"]')
    answer = view.locator(f'#conversation [data-id="{built.main_answer}"]')
    text = answer.inner_text()
    assert "<script>window.__pwned = 'script'</script>" in text, "shown as text"
    assert '<img src="x" onerror=' in text
    unsafe = answer.locator(".unsafe-link")
    assert unsafe.inner_text() == "click me" and answer.locator("a", has_text="click me").count() == 0
    unsafe.click()
    safe = answer.locator("a", has_text="docs")
    assert safe.get_attribute("href") == "https://example.com/docs" and "noopener" in str(
        safe.get_attribute("rel")
    )
    state: dict[str, Any] = view.evaluate(
        "() => ({pwned: typeof window.__pwned, scripts: document.scripts.length,"
        " handlers: document.querySelectorAll('[onerror],[onclick],[onload]').length})"
    )
    assert state == {"pwned": "undefined", "scripts": 2, "handlers": 0}
    csp = view.get_attribute('meta[http-equiv="Content-Security-Policy"]', "content")
    assert csp is not None and re.search(r"script-src 'sha256-[A-Za-z0-9+/=]+';", csp)
    assert "unsafe-inline" not in csp and "default-src 'none'" in csp and "img-src data:" in csp
    assert problems == []


def test_the_tree_filters_and_searches_like_tree(page: tuple[Page, list[str]], built: Built) -> None:
    view, _ = page

    def rows() -> list[str]:
        return view.eval_on_selector_all("#tree .node", "nodes => nodes.map(n => n.dataset.id)")

    everything = rows()
    view.fill("#search", "regex")
    assert rows() == [
        e["id"] for e in built.session.entries if "regex" in str(e).lower() and e["type"] != "label"
    ]
    assert view.inner_text("#tree-count").startswith("3 of ")
    view.fill("#search", "")
    view.select_option("#filter", "user")
    assert [r for r in rows()] == [
        e["id"] for e in built.session.entries if e["type"] == "message" and e["role"] == "user"
    ]
    view.select_option("#filter", "labeled")
    assert rows() == [built.main_answer]
    view.select_option("#filter", "all")
    assert len(rows()) == len(built.session.entries) > len(everything)
