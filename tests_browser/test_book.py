"""Both books (``make book``, ``make book-student``) in headless Chromium, served over http from
build/book/ and build/book-student/.

Every lecture page and every reference page: the equations are typeset by MathJax (served by
the site itself), every image has loaded, every same-site link answers 200 and its #anchor
exists, nothing is fetched from off the site, and the console shows no error. On the lecture
pages the header is there and each exercise solution is folded behind "Show solution" (in the
students' edition there is no solution to fold: test_book_editions.py searches it for solution
text). And no page of the site shows markup that was not rendered: table pipes, ``$`` math,
MyST roles or directives (``book/check_html.py``). Screenshots: artifacts/browser/book-*.png.
Run with ``make test-book``.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import threading
import time
import urllib.error
import urllib.request
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
EDITIONS = {"instructor": ROOT / "build" / "book", "student": ROOT / "build" / "book-student"}
LECTURES = sorted(p.stem for p in (ROOT / "lectures").glob("*.ipynb"))
PAGES = [f"lectures/{stem}" for stem in LECTURES] + [
    "index",
    "notation",
    "gallery",
    "api",
    "bibliography",
]


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the signature of the base class
        pass


@pytest.fixture(scope="module", params=list(EDITIONS))
def edition(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def site(edition):
    """The edition's build folder over http on 127.0.0.1 (a free port), from a thread of this
    process."""
    book = EDITIONS[edition]
    if not (book / "index.html").exists():
        pytest.skip(f"no {book}/index.html: run `make test-book`")
    handler = functools.partial(_QuietHandler, directory=str(book))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


class _Anchors(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name == "id" or (tag == "a" and name == "name"):
                self.ids.add(value)


@functools.cache
def _fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            body = response.read()
            kind = response.headers.get("Content-Type", "")
            return response.status, body.decode("utf-8", "replace") if "html" in kind else ""
    except urllib.error.HTTPError as exc:
        return exc.code, ""


@functools.cache
def _anchors(url: str) -> frozenset[str]:
    parser = _Anchors()
    parser.feed(_fetch(url)[1])
    return frozenset(parser.ids)


def _wait(predicate, timeout, what, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


MATHJAX_DONE = """
const done = arguments[arguments.length - 1];
const start = Date.now();
(function poll() {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    MathJax.startup.promise.then(() => done('ok'), (e) => done('error: ' + e));
  } else if (Date.now() - start > 30000) {
    done('MathJax did not start');
  } else {
    setTimeout(poll, 100);
  }
})();
"""

MATH_STATE = """
return {
  math: document.querySelectorAll('.math').length,
  typeset: document.querySelectorAll('.math mjx-container').length,
  errors: [...document.querySelectorAll('mjx-merror')].map(e => e.textContent).slice(0, 5),
  numbered: document.querySelectorAll('.math .eqno').length,
};
"""

IMAGES = """
const imgs = [...document.images];
imgs.forEach(img => { img.loading = 'eager'; });
return imgs.map(img => ({src: img.currentSrc || img.src, complete: img.complete,
                         width: img.naturalWidth}));
"""

LINKS = "return [...document.querySelectorAll('a[href]')].map(a => a.href);"

RESOURCES = """
return [
  ...[...document.querySelectorAll('script[src]')].map(e => e.src),
  ...[...document.querySelectorAll('link[href]')].filter(e => e.rel !== 'canonical')
      .map(e => e.href),
  ...[...document.querySelectorAll('img[src], source[src], iframe[src]')].map(e => e.src),
  ...performance.getEntriesByType('resource').map(e => e.name),
];
"""

DEMOS = """
return [...document.querySelectorAll('.cell_output')].filter(
  o => o.textContent.includes('Interactive in JupyterLab')
).map(o => o.querySelectorAll('img').length);
"""

SOLUTIONS = """
return [...document.querySelectorAll('details.hide')].filter(
  d => d.querySelector('summary').textContent.includes('Show solution')
).map(d => d.open);
"""


def _check_page(browser, site, page):
    url = f"{site}/{page}.html"
    browser.get_log("browser")  # drop what earlier pages logged
    browser.get(url)
    _wait(lambda: browser.execute_script("return document.readyState") == "complete", 60,
          f"{page} to load")  # fmt: skip
    problems = []

    # equations: MathJax from the site typesets every .math element, without TeX errors
    math = browser.execute_script(MATH_STATE)
    if math["math"]:  # Sphinx loads MathJax only on pages with formulas
        browser.set_script_timeout(60)
        status = browser.execute_async_script(MATHJAX_DONE)
        if status != "ok":
            problems.append(f"MathJax: {status}")
        math = browser.execute_script(MATH_STATE)
    if math["typeset"] < math["math"]:
        problems.append(f"only {math['typeset']} of {math['math']} formulas typeset")
    if math["errors"]:
        problems.append(f"TeX errors: {math['errors']}")

    # images, loaded
    def loaded():
        imgs = browser.execute_script(IMAGES)
        return all(i["complete"] for i in imgs) and (imgs,)

    (images,) = _wait(loaded, 60, f"the images of {page}")
    problems += [f"image not loaded: {i['src']}" for i in images if i["width"] == 0]

    # every same-site link answers, and its anchor exists
    origin = f"{urlsplit(site).scheme}://{urlsplit(site).netloc}"
    for href in sorted(set(browser.execute_script(LINKS))):
        if not href.startswith(origin + "/"):
            continue
        target, fragment = urldefrag(href)
        code, _ = _fetch(target)
        if code != 200:
            problems.append(f"link {href}: HTTP {code}")
        elif fragment and target.endswith(".html") and unquote(fragment) not in _anchors(target):
            problems.append(f"link {href}: no element with id {unquote(fragment)!r}")

    # nothing from off the site (no CDN), and no console errors
    offsite = {
        r
        for r in browser.execute_script(RESOURCES)
        if not r.startswith((origin + "/", "data:", "blob:", "about:"))
    }
    problems += [f"loaded from off the site: {r}" for r in sorted(offsite)]
    problems += [
        f"console: {e['message']}" for e in browser.get_log("browser") if e["level"] == "SEVERE"
    ]
    return math, problems


def _notebook(stem: str) -> dict:
    return json.loads((ROOT / "lectures" / f"{stem}.ipynb").read_text())


def _solution_cells(stem: str) -> int:
    cells = _notebook(stem)["cells"]
    return sum("solution" in c.get("metadata", {}).get("tags", []) for c in cells)


def _slider_demos(stem: str) -> int:
    outputs = [o for c in _notebook(stem)["cells"] for o in c.get("outputs", [])]
    return sum("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs)


def _has_display_math(stem: str) -> bool:
    cells = _notebook(stem)["cells"]
    return any("$$" in "".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


@pytest.mark.parametrize("page", PAGES)
def test_book_page(edition, site, browser, artifacts, page):
    from selenium.webdriver.common.by import By

    math, problems = _check_page(browser, site, page)
    browser.execute_script("window.scrollTo(0, 0);")
    shot = f"book-{'student-' if edition == 'student' else ''}{page.replace('/', '-')}"
    browser.save_screenshot(str(artifacts / f"{shot}.png"))

    if page.startswith("lectures/"):
        stem = page.removeprefix("lectures/")
        header = browser.find_elements(By.CSS_SELECTOR, ".admonition.tip")
        if not header or "Prerequisites" not in header[0].text:
            problems.append("no header with the prerequisites")
        if math["math"] == 0:
            problems.append("a lecture without a single formula")
        folded = browser.execute_script(SOLUTIONS)
        n_solutions = _solution_cells(stem) if edition == "instructor" else 0
        if len(folded) != n_solutions:
            problems.append(f"{len(folded)} Show solution buttons, {n_solutions} solutions")
        if any(folded):
            problems.append("a solution is shown unfolded")
        if folded:  # the first one opens on a click
            summary = browser.find_element(By.CSS_SELECTOR, "details.hide > summary")
            browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", summary)
            summary.click()
            if not browser.execute_script("return document.querySelector('details.hide').open"):
                problems.append("Show solution does not open the solution")
            else:
                time.sleep(0.5)  # the fold's fade-in
                browser.save_screenshot(str(artifacts / f"book-{stem}-solution.png"))
        demos = browser.execute_script(DEMOS)
        if len(demos) != _slider_demos(stem) or not all(demos):
            problems.append(f"slider demos shown as pictures: {demos}, {_slider_demos(stem)} demos")
        if _has_display_math(stem) and math["numbered"] == 0:
            problems.append("display math, but no numbered equation")
    if page == "notation" and math["numbered"] == 0:
        problems.append("no numbered equation")
    assert not problems, f"{page}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("edition_name", list(EDITIONS))
def test_no_page_shows_unrendered_markup(edition_name):
    """Every page of the built site, lectures, reference and index pages alike."""
    spec = importlib.util.spec_from_file_location("check_html", ROOT / "book" / "check_html.py")
    check_html = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(check_html)
    BOOK = EDITIONS[edition_name]  # noqa: N806
    if not (BOOK / "index.html").exists():
        pytest.skip(f"no {BOOK}/index.html: run `make test-book`")
    problems = []
    for page in sorted(BOOK.rglob("*.html")):
        if "_static" in page.parts or "_sources" in page.parts:
            continue
        found = check_html.unrendered_markup(page.read_text(encoding="utf-8"))
        problems += [f"{page.relative_to(BOOK)}: {p}" for p in found[:5]]
    assert not problems, "unrendered markup:\n  " + "\n  ".join(problems)
