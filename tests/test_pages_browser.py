"""The HTML pages in a real headless browser: Debian's chromium driven by selenium through
chromedriver, against the live app with the sample dump ingested by real workers.

Checked: pages load without console errors (CSP violations and failed loads are console
errors too), autodiscovery links, the subscribe box and its Copy button (shown by the page's
script), clicking a topic link and a story link, every link of the index answering, the pages
readable with JavaScript off, and a screenshot of the index kept as ``test-artifacts/index.png``.

Needs ``chromium`` and ``chromedriver`` (Debian: ``apt-get install -y chromium chromium-driver``)
and selenium (in the ``test`` extra); without them the browser tests are skipped with one line
saying what to install, or fail with ``WIREFEED_REQUIRE_CLIENTS=1`` (``tests/clients.py``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
import redis
import requests

from tests import clients
from tests.conftest import clean
from tests.helpers import ingest
from wirefeed.config.settings import Settings
from wirefeed.feeds.store.connection import connect

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample" / "wire-sample.txt"
ARTIFACTS = ROOT / "test-artifacts"
INSTALL = "apt-get install -y chromium chromium-driver  (and pip install -e '.[test]' for selenium)"
WAIT = 30
"""Seconds to wait for a page or an element (generous for a loaded CI machine)."""


def _find(names: tuple[str, ...], fallbacks: tuple[str, ...]) -> str | None:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    return next((p for p in fallbacks if os.access(p, os.X_OK)), None)


CHROMIUM = _find(("chromium", "chromium-browser"), ("/usr/bin/chromium", "/usr/lib/chromium/chromium"))
CHROMEDRIVER = _find(("chromedriver",), ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"))


@pytest.fixture(scope="module")
def chromium() -> None:
    """Skips (or fails, see ``tests/clients.py``) the test before any work without a browser."""
    missing = [n for n, p in (("chromium", CHROMIUM), ("chromedriver", CHROMEDRIVER)) if p is None]
    if missing:
        clients.missing(", ".join(missing), INSTALL)
    try:
        import selenium  # noqa: F401
    except ImportError:
        clients.missing("selenium", INSTALL)


def _launch(profile: Path, *, javascript: bool = True) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1280,1000",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(arg)
    if not javascript:
        options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(WAIT)
    return driver


@pytest.fixture(scope="module")
def site(redis_url: str, live_server: str, workers: Any) -> Iterator[str]:
    """The live app with the sample ingested (once for this module's tests)."""
    c: redis.Redis = connect(redis_url)
    clean(c)
    ingest(live_server, SAMPLE.read_bytes())
    yield live_server
    c.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    driver = _launch(tmp_path_factory.mktemp("chromium-profile"))
    yield driver
    driver.quit()


def console_errors(driver: Any) -> list[dict[str, Any]]:
    """Browser console entries of level SEVERE since the last call (errors, CSP violations,
    failed resource loads)."""
    return [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def load(driver: Any, url: str) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    WebDriverWait(driver, WAIT).until(lambda d: d.execute_script("return document.readyState") == "complete")


def click_and_wait(driver: Any, element: Any, path: str) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    element.click()
    WebDriverWait(driver, WAIT).until(
        lambda d: (
            urlsplit(d.current_url).path == path
            and d.execute_script("return document.readyState") == "complete"
        )
    )


@pytest.mark.usefixtures("chromium")
def test_index_topic_and_story_pages_in_a_browser(site: str, settings: Settings, browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    # -- the index ------------------------------------------------------------------------
    load(browser, f"{site}/")
    assert browser.title == settings.feed_title
    alternates = {
        e.get_attribute("type"): e.get_attribute("href")
        for e in browser.find_elements(By.CSS_SELECTOR, 'link[rel="alternate"]')
        if "all stories" in e.get_attribute("title")
    }
    assert alternates == {
        "application/atom+xml": f"{site}/feeds/all.atom",
        "application/rss+xml": f"{site}/feeds/all.rss",
        "application/feed+json": f"{site}/feeds/all.json",
    }
    stories = browser.find_elements(By.CSS_SELECTOR, "ol.stories a.title")
    assert len(stories) == 20
    feed_url = browser.find_element(By.CSS_SELECTOR, ".subscribe input.feed-url")
    assert feed_url.get_attribute("value") == f"{site}/feeds/all.atom"
    assert feed_url.get_attribute("readonly") is not None
    copy = browser.find_element(By.CSS_SELECTOR, ".subscribe button.copy")
    WebDriverWait(browser, WAIT).until(lambda d: copy.is_displayed())  # the script ran, under the CSP
    ARTIFACTS.mkdir(exist_ok=True)
    assert browser.save_screenshot(str(ARTIFACTS / "index.png"))
    assert (ARTIFACTS / "index.png").stat().st_size > 10_000

    copy.click()
    status = browser.find_element(By.CSS_SELECTOR, ".subscribe .copy-status")
    WebDriverWait(browser, WAIT).until(lambda d: status.text.strip() != "")
    assert "Copied" in status.text or "Ctrl+C" in status.text
    assert console_errors(browser) == []

    # -- a topic link -----------------------------------------------------------------------
    topic_link = browser.find_element(By.LINK_TEXT, "Cybercrime")
    click_and_wait(browser, topic_link, "/topics/cybercrime")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Cybercrime"
    assert browser.find_element(By.CSS_SELECTOR, ".subscribe input.feed-url").get_attribute("value") == (
        f"{site}/feeds/cybercrime.atom"
    )
    hrefs = {e.get_attribute("href") for e in browser.find_elements(By.CSS_SELECTOR, 'link[rel="alternate"]')}
    assert hrefs == {f"{site}/feeds/cybercrime.{fmt}" for fmt in ("atom", "rss", "json")}
    topic_stories = browser.find_elements(By.CSS_SELECTOR, "ol.stories a.title")
    assert topic_stories
    assert browser.find_element(By.CSS_SELECTOR, ".subscribe button.copy").is_displayed()
    assert console_errors(browser) == []

    # -- a story link -----------------------------------------------------------------------
    story = topic_stories[0]
    title, href = story.text, story.get_attribute("href")
    click_and_wait(browser, story, urlsplit(href).path)
    assert browser.find_element(By.TAG_NAME, "h1").text == title
    assert "Cybercrime" in [a.text for a in browser.find_elements(By.CSS_SELECTOR, "ul.tags a")]
    assert console_errors(browser) == []

    # -- back home by the brand link ---------------------------------------------------------
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "a.brand"), "/")
    assert console_errors(browser) == []

    # The console is really read: a page that fails to load shows up as an error.
    load(browser, f"{site}/stories/doesnotexist")
    assert any("404" in e["message"] for e in console_errors(browser))


def test_every_link_of_the_index_answers(site: str) -> None:
    from lxml import html

    page = requests.get(f"{site}/", timeout=10)
    doc = html.fromstring(page.content)
    links = {urljoin(f"{site}/", h) for h in doc.xpath("//a/@href | //link/@href | //script/@src")}
    assert len(links) > 50
    for url in sorted(links):
        assert url.startswith(site), url  # no page links off-site
        resp = requests.get(url, timeout=10)
        assert resp.status_code == 200, f"{url}: {resp.status_code}"


@pytest.mark.usefixtures("chromium")
def test_pages_are_readable_without_javascript(site: str, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    driver = _launch(tmp_path / "profile", javascript=False)
    try:
        for path, feed in (("/", "all"), ("/topics/cybercrime", "cybercrime")):
            load(driver, f"{site}{path}")
            assert driver.find_elements(By.CSS_SELECTOR, "ol.stories a.title"), path
            box = driver.find_element(By.CSS_SELECTOR, ".subscribe input.feed-url")
            assert box.is_displayed()
            assert box.get_attribute("value") == f"{site}/feeds/{feed}.atom"
            # Without the script there is nothing to click: the button stays hidden.
            assert not driver.find_element(By.CSS_SELECTOR, ".subscribe button.copy").is_displayed()
            assert console_errors(driver) == []
    finally:
        driver.quit()
