"""Open every page of the built book in headless Chromium, offline, at a desktop and a phone width, and check what
a reader sees: no raw markup, no MathJax errors, every image loaded, nothing wider than the text column. A
full-page screenshot of every page at each width goes to `_build/screenshots/<page>-<width>.png`, so a person
can look through the whole book in a minute."""

import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import nbsetup  # noqa: E402

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
SHOTS = ROOT / "_build" / "screenshots"
# A desktop window and a phone (390 px is a current phone's CSS width).
WIDTHS = (1280, 390)
# Taller screenshots than this are cut (Chromium cannot capture a window of unbounded height).
MAX_SHOT_HEIGHT = 30000
# Markup that should never reach a reader: a Markdown table's separator row (whose `---` Sphinx's smart quotes
# may have turned into a dash), a code fence, MyST roles and directives, TeX that MathJax did not typeset.
RAW_MARKUP = {
    "a Markdown table": re.compile(r"\|\s*:?(?:-{3,}|[\u2013\u2014]+):?\s*\|"),
    "a code fence": re.compile(r"```|~~~"),
    "a MyST role or directive": re.compile(r"\{(?:glue|prf|cite|doc|ref|numref|eq|math|figure|code-cell)\b"),
    "untypeset TeX": re.compile(r"\$\$|\\\(|\\\[|\\frac|\\mathbb|\\begin\{"),
}


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
                 "--hide-scrollbars", "--window-size=1280,1000", f"--user-data-dir={profile}"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(30)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def set_viewport(driver, width: int, height: int) -> None:
    """Make the page's viewport (window.innerWidth × innerHeight) exactly width × height."""
    driver.set_window_size(width, height)
    inner_w, inner_h = driver.execute_script("return [window.innerWidth, window.innerHeight]")
    if (inner_w, inner_h) != (width, height):
        driver.set_window_size(2 * width - inner_w, 2 * height - inner_h)


WAIT_MATHJAX = """
const done = arguments[arguments.length - 1];
if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
  MathJax.startup.promise.then(() => done(true)).catch(() => done(false));
} else { setTimeout(() => done(true), 500); }
"""

# What a reader sees on the page, measured after layout.
LOOK = """
const main = document.querySelector('main') || document.body;
const copy = main.cloneNode(true);
// Code (where fences and pipes are legitimate), scripts and typeset math are not prose.
copy.querySelectorAll('pre, code, .highlight, script, style, mjx-container, .cell_input').forEach(e => e.remove());
const article = document.querySelector('main article') || main;
const box = article.getBoundingClientRect();
// Elements that reach past the text column and are not inside a box that scrolls or clips them.
function clipped(el) {
  for (let p = el.parentElement; p && p !== article; p = p.parentElement) {
    const o = getComputedStyle(p).overflowX;
    if (o === 'auto' || o === 'scroll' || o === 'hidden' || o === 'clip') return true;
  }
  return false;
}
const wide = [];
for (const el of article.querySelectorAll('*')) {
  const r = el.getBoundingClientRect();
  if (r.width > 0 && r.right > box.right + 1 && !clipped(el)) {
    wide.push(el.tagName.toLowerCase() + (el.className && el.className.baseVal === undefined
      ? '.' + String(el.className).trim().split(/\\s+/).join('.') : '') + ` (${Math.round(r.right - box.right)} px)`);
    if (wide.length >= 5) break;
  }
}
return {
  text: copy.innerText,
  mathErrors: Array.from(document.querySelectorAll('mjx-merror, .MathJax_Error, [data-mjx-error]'))
    .map(e => e.getAttribute('data-mjx-error') || e.textContent).slice(0, 5),
  images: Array.from(main.querySelectorAll('img')).map(i => [i.getAttribute('src'), i.complete, i.naturalWidth,
    i.getAttribute('alt') || '']),
  article: [article.scrollWidth, article.clientWidth],
  page: [document.documentElement.scrollWidth, window.innerWidth],
  wide: wide,
  proofs: main.querySelectorAll('.proof').length,
  // Display math wider than its column (it scrolls in its own box rather than push the page, but is cut).
  wideMath: Array.from(article.querySelectorAll('mjx-container[display="true"]'))
    .filter(e => e.scrollWidth > Math.min(e.clientWidth, box.width) + 2)
    .map(e => `${Math.round(e.scrollWidth)} > ${Math.round(Math.min(e.clientWidth, box.width))} px: `
      + (e.closest('.math') ? (e.closest('.math').id || '') : '') + ' '
      + (e.querySelector('mjx-assistive-mml') ? e.querySelector('mjx-assistive-mml').textContent : '').slice(0, 60))
    .slice(0, 5),
  math: main.querySelectorAll('mjx-container').length,
  height: document.documentElement.scrollHeight,
};
"""


# Pages whose display math (in a chapter's notebook text) was wider than the column at that width when this test
# was written (measured on the chapters of 2026-12-06): the chapters' part of issue 27 (break the equation, or an
# aligned/split environment). Any other page with too wide math fails the test; a listed page whose math now fits
# is reported (take it off the list).
KNOWN_WIDE_MATH: set[tuple[str, int]] = set()  # every page's display math fit at 1280 and 390 px on 2026-12-06


def look(browser, url: str, page: str, width: int, chapter: bool) -> list[str]:
    """Load one page at one width; return what is wrong with it (empty if nothing) and save its screenshot."""
    set_viewport(browser, width, 1000)
    browser.get(url)
    problems = []
    if not browser.execute_async_script(WAIT_MATHJAX):
        problems.append("MathJax failed to start")
    seen = browser.execute_script(LOOK)
    for what, pattern in RAW_MARKUP.items():
        m = pattern.search(seen["text"])
        if m:
            context = seen["text"][max(0, m.start() - 40): m.end() + 40].replace("\n", " ")
            problems.append(f"raw markup ({what}) visible: …{context}…")
    if seen["mathErrors"]:
        problems.append(f"MathJax errors: {seen['mathErrors']}")
    if seen["wideMath"] and (page, width) not in KNOWN_WIDE_MATH:
        problems.append(f"display math wider than its column: {seen['wideMath']}")
    elif not seen["wideMath"] and (page, width) in KNOWN_WIDE_MATH:
        print(f"{page} at {width} px: its display math now fits; take it off KNOWN_WIDE_MATH")
    broken = [src for src, complete, w, _ in seen["images"] if not (complete and w > 0)]
    if broken:
        problems.append(f"images that did not load: {broken}")
    # Alt text says what a figure shows (its caption), not where its file is.
    no_alt = [src for src, _, _, alt in seen["images"] if not alt.strip() or alt == src or alt.endswith(".png")]
    if no_alt:
        problems.append(f"images without alt text: {no_alt}")
    (scroll_w, client_w), (doc_w, view_w) = seen["article"], seen["page"]
    if scroll_w > client_w + 1:
        problems.append(f"the text column overflows ({scroll_w} > {client_w} px): {seen['wide']}")
    if doc_w > view_w + 1:
        problems.append(f"the page is wider than the window ({doc_w} > {view_w} px): {seen['wide']}")
    if chapter:
        if not seen["images"]:
            problems.append("a chapter page shows no figure")
        if not seen["proofs"]:
            problems.append("no theorem boxes")
        if not seen["math"]:
            problems.append("no rendered math")
    errors = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    if errors:
        problems.append(f"console errors: {errors}")
    set_viewport(browser, width, min(seen["height"], MAX_SHOT_HEIGHT))
    browser.save_screenshot(str(SHOTS / f"{page}-{width}.png"))
    return [f"{page} at {width} px: {p}" for p in problems]


def test_every_page_reads_cleanly_at_desktop_and_phone_widths(browser, server, html_dir):
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("*.png"):
        old.unlink()
    chapters = {p.stem for p in nbsetup.chapter_notebooks(ROOT)}
    pages = sorted(html_dir.glob("book/*.html"))
    assert pages, "the built book has no pages"
    problems = []
    for width in WIDTHS:
        for page in pages:
            problems += look(browser, f"{server}/book/{page.name}", page.stem, width, page.stem in chapters)
    assert not problems, "\n".join(problems)
    shots = {p.name for p in SHOTS.glob("*.png")}
    assert {f"{p.stem}-{w}.png" for p in pages for w in WIDTHS} <= shots, "a page has no screenshot"


def test_the_landing_page_opens_with_the_verdicts_above_the_fold(browser, server):
    """At 1280 × 800 the per-paper verdict table ends within the first 800 px; the screenshot of that screen is
    `_build/screenshots/intro-verdicts-1280x800.png`."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    set_viewport(browser, 1280, 800)
    browser.get(f"{server}/book/intro.html")
    browser.execute_async_script(WAIT_MATHJAX)
    box = browser.execute_script(
        "const t = document.querySelector('table.featlearn-verdicts'); if (!t) return null;"
        "const r = t.getBoundingClientRect(); return [r.top + window.scrollY, r.bottom + window.scrollY,"
        " t.querySelectorAll('tbody tr').length];")
    browser.save_screenshot(str(SHOTS / "intro-verdicts-1280x800.png"))
    assert box, "the landing page has no verdict table"
    top, bottom, papers = box
    assert papers >= 1 and bottom <= 800, f"the verdict table ends at {bottom:.0f} px, below the fold of 800 px"


def test_the_pdf_link_shows_only_when_the_pdf_exists(browser, server, html_dir):
    """`make pdf` puts the PDF beside the pages and shows the landing page's link (`printbook.py --publish`)."""
    set_viewport(browser, 1280, 800)
    browser.get(f"{server}/book/intro.html")
    visible = browser.execute_script("""const p = document.querySelector('.featlearn-pdf');
      return p ? !p.hidden && p.offsetParent !== null : null;""")
    assert visible is not None, "the landing page has no PDF paragraph"
    assert visible == (html_dir / "featlearn.pdf").is_file(), \
        "the PDF link must show exactly when _build/html/featlearn.pdf exists (make pdf puts it there)"


def test_the_scorecard_filters_by_status(browser, server):
    set_viewport(browser, 1280, 800)
    browser.get(f"{server}/book/scorecard.html?status=not-reproduced")
    counts = browser.execute_script("""
      const rows = Array.from(document.querySelectorAll('tr.featlearn-row'));
      const shown = rows.filter(r => !r.hidden);
      return [rows.length, shown.length, shown.every(r => r.dataset.status === 'not-reproduced'),
              rows.filter(r => r.dataset.status === 'not-reproduced').length];""")
    total, shown, only, wanted = counts
    assert total > 0 and only and shown == wanted, f"?status=not-reproduced shows {shown} rows, {wanted} expected"
    browser.get(f"{server}/book/scorecard.html")
    after = browser.execute_script("""
      const box = document.querySelector('form.featlearn-filter input[value="reproduced"]');
      box.click();
      const rows = Array.from(document.querySelectorAll('tr.featlearn-row'));
      return [rows.filter(r => !r.hidden && r.dataset.status === 'reproduced').length,
              rows.filter(r => !r.hidden).length, rows.length];""")
    assert after[0] == 0 and after[1] < after[2], "unticking 'reproduced' hides exactly those rows"


def test_a_copy_button_copies_its_bibtex(browser, server):
    set_viewport(browser, 1280, 800)
    browser.get(f"{server}/book/how-to-cite.html")
    label = browser.execute_async_script("""
      const done = arguments[arguments.length - 1];
      const b = document.querySelector('button.featlearn-copy');
      if (!b) { done(null); return; }
      b.click(); setTimeout(() => done(b.textContent), 300);""")
    assert label == "Copied", f"the copy button did not copy (it says {label!r})"


# The smallest text a figure may have on the page, as a share of the body's font size (a footnote's size).
MIN_TEXT_SHARE = 0.75
# Figures known to be too small (none: every chapter figure was redrawn for the column and measured at 12.1-15.3 px
# against 12 px on 2026-12-06; they had been as small as 4.8 px). Any figure that is too small fails the test; a
# listed one now legible is reported (take it off the list).
KNOWN_SMALL_TEXT: set[str] = set()
# Chapters not measured yet (none: every chapter was measured on 2026-12-06).
KNOWN_SMALL_TEXT_CHAPTERS: set[str] = set()


def test_figure_text_is_no_smaller_than_a_footnote_at_1280_px(browser, server, html_dir):
    """From each figure's own record (`figures.text_metrics`: its smallest font in points, the PNG's pixels and dpi)
    and the width the page shows it at: the smallest text in CSS pixels."""
    import json

    set_viewport(browser, 1280, 1000)
    small, fixed, sizes = [], [], {}
    for page in sorted(p.stem for p in nbsetup.chapter_notebooks(ROOT)):
        browser.get(f"{server}/book/{page}.html")
        shown = browser.execute_script("""
          const body = parseFloat(getComputedStyle(document.querySelector('main article p')).fontSize);
          return [body, Array.from(document.querySelectorAll('p.featlearn-figure-caption')).map(c => {
            const cell = c.closest('div.cell'); const img = cell && cell.querySelector('img');
            return [c.id.replace(/^figure-/, ''), img ? img.getBoundingClientRect().width : 0]; })];""")
        body, figs = shown
        for stem, width in figs:
            rec = json.loads((html_dir / "figures" / f"{stem}.json").read_text())
            if not rec.get("min_font_pt") or not rec.get("png_px") or not width:
                continue
            px = rec["min_font_pt"] * rec["png_dpi"] / 72 * width / rec["png_px"][0]
            sizes[stem] = round(px, 1)
            known = stem in KNOWN_SMALL_TEXT or page in KNOWN_SMALL_TEXT_CHAPTERS
            if px < MIN_TEXT_SHARE * body and not known:
                small.append(f"{stem}: {px:.1f} px < {MIN_TEXT_SHARE * body:.1f} px")
            elif px >= MIN_TEXT_SHARE * body and stem in KNOWN_SMALL_TEXT:
                fixed.append(stem)
    print("smallest figure text at 1280 px (CSS px):", sizes)
    if fixed:
        print(f"now legible, take them off KNOWN_SMALL_TEXT: {fixed}")
    assert sizes, "no figure record says how small its text is"
    assert not small, "figure text smaller than a footnote:\n" + "\n".join(small)
