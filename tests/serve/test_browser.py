"""The page of `nesy serve` in a real headless Chromium (Debian's chromium and chromium-driver, via Selenium).

The test fails, never skips, when the browser is missing: `.ci/run` installs it. The screenshot
of the proof view goes to ``$NESY_TEST_ARTIFACTS`` (or a temporary directory) and its path is
printed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

WAIT = 30
#: One fact of the served copy comes from text: eve's son finn, read from a sentence.
SENTENCE = "Eve took her son Finn to school."


def add_extracted_fact(directory: Path) -> None:
    """Give the served KB one extracted fact with its sentence (so a proof mixes evidence kinds)."""
    code = ("import sys\nfrom rdflib import URIRef\nfrom nesy.kb import KnowledgeBase\n"
            "F = 'http://example.org/family#'\n"
            "with KnowledgeBase(sys.argv[1]) as kb:\n"
            "    kb.add(URIRef(F + 'eve'), URIRef(F + 'parent'), URIRef(F + 'finn'), graph='extracted', score=0.9,\n"
            f"           document='news.txt', sentence={SENTENCE!r}, span=[0, {len(SENTENCE)}])\n"
            "    kb.materialize()\n")
    subprocess.run([sys.executable, "-c", code, str(directory)], check=True, timeout=120)


@pytest.fixture(scope="module")
def page_server(start_server: Callable[..., Any]) -> Any:
    return start_server(prepare=add_extracted_fact)


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    assert chromium and driver, ("the browser test needs Debian's chromium and chromium-driver: "
                                 "apt-get install -y chromium chromium-driver (.ci/run installs them)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1500,1100", "--no-proxy-server", "--disable-extensions"):
        options.add_argument(arg)
    drv = webdriver.Chrome(service=Service(executable_path=driver), options=options)
    try:
        yield drv
    finally:
        drv.quit()


def wait(browser: WebDriver, css: str, count: int = 1) -> list[WebElement]:
    """The elements matching ``css`` once there are at least ``count`` shown."""
    def found(drv: WebDriver) -> list[WebElement] | bool:
        elems = [e for e in drv.find_elements(By.CSS_SELECTOR, css) if e.is_displayed()]
        return elems if len(elems) >= count else False

    return WebDriverWait(browser, WAIT).until(found)  # type: ignore[no-any-return]


def run(browser: WebDriver, query: str) -> list[WebElement]:
    """Type ``query`` into the editor, run it, and return the answer rows."""
    editor = browser.find_element(By.ID, "editor")
    editor.clear()
    editor.send_keys(query)
    browser.find_element(By.ID, "run").click()
    WebDriverWait(browser, WAIT).until(lambda d: "running" not in d.find_element(By.ID, "status").text)
    return browser.find_elements(By.CSS_SELECTOR, "#results tr.answer")


def proof_nodes(browser: WebDriver) -> list[WebElement]:
    return wait(browser, "#proof .node")


def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = os.environ.get("NESY_TEST_ARTIFACTS")
    path = Path(where) if where else tmp_path_factory.mktemp("artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


def test_a_rule_query_and_its_proof_view(browser: WebDriver, page_server: Any,
                                         tmp_path_factory: pytest.TempPathFactory) -> None:
    browser.get(page_server.url)
    WebDriverWait(browser, WAIT).until(lambda d: "triples" in d.find_element(By.ID, "kb-info").text)
    rows = run(browser, "?- fam:grandparent(fam:cid, X).")
    cells = {r.find_elements(By.TAG_NAME, "td")[1].text: r.find_elements(By.TAG_NAME, "td")[-1].text for r in rows}
    assert cells == {"fam:finn": "0.9"}  # the score of the extracted premise
    rows[0].click()
    nodes = proof_nodes(browser)
    root = nodes[0]
    assert root.get_attribute("data-kind") == "derived"
    assert root.find_element(By.CSS_SELECTOR, ".rule-name").text == "gp"
    assert root.find_element(By.CSS_SELECTOR, ".rule-where").text.endswith("family.rules:5")
    premises = {n.find_element(By.CSS_SELECTOR, ".fact").text: n.get_attribute("data-kind") for n in nodes[1:]}
    assert premises == {"fam:parent(fam:cid, fam:eve)": "asserted", "fam:parent(fam:eve, fam:finn)": "extracted"}
    extracted = next(n for n in nodes if n.get_attribute("data-kind") == "extracted")
    assert SENTENCE in extracted.find_element(By.CSS_SELECTOR, ".quote").text
    assert "family.ttl" in nodes[1].find_element(By.CSS_SELECTOR, ".source").text
    shot = artifacts(tmp_path_factory) / "serve-proof-view.png"
    browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
    print(f"\nscreenshot of the proof view: {shot}")


def test_a_sparql_query_and_the_proof_of_a_derived_triple(browser: WebDriver, page_server: Any) -> None:
    browser.get(page_server.url)
    rows = run(browser, "SELECT ?x ?y WHERE { ?x fam:grandparent ?y } ORDER BY ?x ?y")
    assert len(rows) == 9
    assert "SPARQL" in browser.find_element(By.ID, "query-kind").text
    target = next(r for r in rows if "fam:finn" in r.text)
    assert target.find_elements(By.TAG_NAME, "td")[-1].text == "0.9"
    target.click()
    nodes = proof_nodes(browser)
    assert nodes[0].get_attribute("data-kind") == "derived"
    assert nodes[0].find_element(By.CSS_SELECTOR, ".rule-name").text == "gp"
    assert sorted(n.get_attribute("data-kind") for n in nodes[1:]) == ["asserted", "extracted"]


def test_errors_show_their_line_and_column_and_why_not_explains(browser: WebDriver, page_server: Any) -> None:
    browser.get(page_server.url)
    run(browser, "SELECT ?x\nWHERE { ?x fam:parent }")
    error = wait(browser, "#error")[0]
    assert "line 2, column" in error.text
    assert browser.find_elements(By.CSS_SELECTOR, "#results tr.answer") == []
    box = browser.find_element(By.ID, "whynot-atom")
    box.send_keys("fam:grandparent(fam:eve, fam:ann)")
    browser.find_element(By.ID, "whynot-run").click()
    result = wait(browser, "#whynot-result li")[0]
    assert "rule gp" in result.text and "no fact matches" in result.text
