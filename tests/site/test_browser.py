"""Open every page of the built book in headless Chromium, offline, and check what a reader sees."""

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import nbsetup  # noqa: E402

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM and DRIVER):
        if os.environ.get("CI"):
            pytest.fail("CI must install Debian's chromium and chromium-driver for the browser test")
        pytest.skip("chromium/chromedriver not installed (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="featlearn-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                 "--window-size=1280,1600", f"--user-data-dir={profile}"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


WAIT_MATHJAX = """
const done = arguments[arguments.length - 1];
if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
  MathJax.startup.promise.then(() => done(true)).catch(() => done(false));
} else { setTimeout(() => done(!!document.querySelector('mjx-container') || true), 500); }
"""
VISIBLE_TEXT = """
const main = document.querySelector('main') || document.body;
const copy = main.cloneNode(true);
copy.querySelectorAll('pre, code, .highlight, script, style, mjx-container, .cell_input').forEach(e => e.remove());
return copy.innerText;
"""
IMAGES = """
return Array.from(document.querySelectorAll('main img')).map(i => [i.getAttribute('src'), i.complete,
  i.naturalWidth, i.naturalHeight]);
"""


def test_every_page_renders_offline(browser, server, html_dir):
    shots = ROOT / "_build" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    chapters = {p.stem for p in nbsetup.toc_notebooks(ROOT)} - {"gallery", "how-to-cite", "status"}
    pages = sorted(html_dir.glob("book/*.html"))
    assert pages
    for page in pages:
        url = f"{server}/book/{page.name}"
        browser.get(url)
        browser.set_script_timeout(30)
        assert browser.execute_async_script(WAIT_MATHJAX), f"{page.name}: MathJax failed to typeset"
        imgs = browser.execute_script(IMAGES)
        broken = [src for src, complete, w, h in imgs if not (complete and w > 0 and h > 0)]
        assert not broken, f"{page.name}: images that did not load: {broken}"
        text = browser.execute_script(VISIBLE_TEXT)
        for raw in ("$$", "\\(", "\\[", "\\frac", "\\mathbb", "{prf:", "{cite}", "{glue:"):
            assert raw not in text, f"{page.name}: unrendered markup {raw!r} left in the page"
        if page.stem in chapters:
            assert len(imgs) >= 1, f"{page.name}: a chapter page shows no figure"
            n_proofs = browser.execute_script("return document.querySelectorAll('main .proof').length")
            assert n_proofs >= 1, f"{page.name}: no theorem boxes"
            n_math = browser.execute_script("return document.querySelectorAll('main mjx-container').length")
            assert n_math >= 1, f"{page.name}: no rendered math"
        errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        assert not errors, f"{page.name}: console errors {errors}"
        height = browser.execute_script("return Math.min(document.body.scrollHeight, 12000)")
        browser.set_window_size(1280, max(height, 800))
        browser.save_screenshot(str(shots / f"{page.stem}.png"))
        browser.set_window_size(1280, 1600)
