"""Print the single-page HTML book to one PDF with the installed Chromium (Debian's ``chromium`` and
``chromium-driver``), after MathJax has typeset every formula.

    python tools/printbook.py _build/singlehtml _build/pdf/featlearn.pdf
    python tools/printbook.py --publish _build/pdf/featlearn.pdf _build/html _build/site

The page is served from localhost (MathJax and the figures load from the build itself, no network), opened in
headless Chromium, and printed through the DevTools protocol (``Page.printToPDF``), A4 with page numbers.
"""

from __future__ import annotations

import argparse
import base64
import functools
import http.server
import re
import shutil
import sys
import tempfile
import threading
from pathlib import Path

# Hide what only makes sense on screen (navigation, buttons, folded code toggles) and let figures and code use
# the page's width.
PRINT_CSS = """
.bd-header, .bd-sidebar-primary, .bd-sidebar-secondary, .bd-footer, .bd-footer-article, .prev-next-area,
.header-article, .article-header-buttons, .toggle-details summary, button.toggle-button, .skip-link,
#pst-back-to-top, button.featlearn-copy, form.featlearn-filter { display: none !important; }
tr.featlearn-row[hidden] { display: table-row !important; }
section.featlearn-paper[hidden] { display: block !important; }
.bd-main .bd-content .bd-article-container { max-width: 100% !important; }
pre { white-space: pre-wrap !important; word-break: break-word; }
img { max-width: 100% !important; break-inside: avoid; }
figure, .proof, table { break-inside: avoid; }
h1, h2, h3 { break-after: avoid; }
"""

WAIT_MATHJAX = """
const done = arguments[arguments.length - 1];
if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
  MathJax.startup.promise.then(() => done(true)).catch(() => done(false));
} else { done(true); }
"""


def single_page(html_dir: Path) -> str:
    """The page that holds the whole book, placed at the build's root. With the root document in a folder
    (``book/intro``) the single-page builder writes it there but with links relative to the root, and an
    ``index.html`` that redirects to it; a copy at the root makes every link resolve."""
    index = html_dir / "index.html"
    if not index.is_file():
        raise SystemExit(f"{index} not found: build the single-page book first")
    target = re.search(r'http-equiv="refresh"[^>]*url=([^"\s>]+)', index.read_text(), re.I)
    if not target:
        return "index.html"
    (html_dir / "featlearn-print.html").write_text((html_dir / target.group(1)).read_text())
    return "featlearn-print.html"


def print_pdf(html_dir: Path, out: Path) -> None:
    chromium = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
    driver_path = shutil.which("chromedriver")
    if not (chromium and driver_path):
        raise SystemExit("needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)")
    page = single_page(html_dir)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args, **kwargs):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(html_dir)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    profile = tempfile.mkdtemp(prefix="featlearn-print-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                 f"--user-data-dir={profile}"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=opts)
    try:
        driver.set_page_load_timeout(120)
        driver.set_script_timeout(300)
        driver.get(f"http://127.0.0.1:{httpd.server_address[1]}/{page}")
        if not driver.execute_async_script(WAIT_MATHJAX):
            raise SystemExit("MathJax failed to typeset the book")
        driver.execute_script("const s = document.createElement('style'); s.media = 'print';"
                              "s.textContent = arguments[0]; document.head.appendChild(s);", PRINT_CSS)
        # Every image must have loaded before printing.
        broken = driver.execute_script("return Array.from(document.images).filter(i => !(i.complete && "
                                       "i.naturalWidth > 0)).map(i => i.getAttribute('src'))")
        if broken:
            raise SystemExit(f"images that did not load: {broken}")
        pdf = driver.execute_cdp_cmd("Page.printToPDF", {
            "printBackground": True, "paperWidth": 8.27, "paperHeight": 11.69, "marginTop": 0.6,
            "marginBottom": 0.6, "marginLeft": 0.6, "marginRight": 0.6, "displayHeaderFooter": True,
            "headerTemplate": "<span></span>",
            "footerTemplate": '<div style="font-size:8px;width:100%;text-align:center">'
                              '<span class="pageNumber"></span> / <span class="totalPages"></span></div>'})
    finally:
        driver.quit()
        httpd.shutdown()
        shutil.rmtree(profile, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(base64.b64decode(pdf["data"]))
    print(f"wrote {out} ({out.stat().st_size // 1024} KiB)")


PDF_LINK_HIDDEN = '<p class="featlearn-pdf" hidden>'


def publish(pdf: Path, sites: list[Path]) -> list[Path]:
    """Put ``pdf`` beside each built site that exists (``<site>/featlearn.pdf``) and show the landing page's link to
    it (hidden in the page as built, so that no build shows a link to a missing file). Returns the sites done."""
    if not pdf.is_file():
        raise SystemExit(f"{pdf} not found: print the book first")
    done = []
    for site in sites:
        intro = site / "book" / "intro.html"
        if not intro.is_file():
            continue
        shutil.copyfile(pdf, site / "featlearn.pdf")
        intro.write_text(intro.read_text().replace(PDF_LINK_HIDDEN, '<p class="featlearn-pdf">'))
        done.append(site)
    return done


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--publish", action="store_true",
                    help="copy the PDF (first argument) into each built site given and show the landing page's link")
    ap.add_argument("paths", type=Path, nargs="+", help="HTML_DIR OUT.pdf, or with --publish: PDF SITE [SITE ...]")
    args = ap.parse_args(argv)
    if args.publish:
        for site in publish(args.paths[0], args.paths[1:]):
            print(f"{args.paths[0]} → {site / 'featlearn.pdf'} (linked from the landing page)")
        return 0
    if len(args.paths) != 2:
        ap.error("give the single-page HTML folder and the PDF to write")
    print_pdf(args.paths[0], args.paths[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
