"""A grading feedback page in headless Chromium, opened from disk: the statement's math is
typeset by the MathJax copied next to the page (nothing is fetched from anywhere else), the
points come first, and the diagnosis is wrapped, not cut at the page's edge. Screenshot:
artifacts/browser/feedback-03_mmd_flow.png. Run with ``make test-browser``."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

WRONG_STEP = """def mmd_flow_step(X, Y, kernel, step):
    n, m = len(X), len(Y)
    weights = np.r_[np.full(n, 1 / n), np.full(m, -1 / m)]
    return X + step * kernel.weighted_grad(X, np.vstack([X, Y]), weights)
"""


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    pytest.importorskip("nbgrader")
    from kernelflows.course.grade import grade
    from kernelflows.course.mark import marked

    subs = tmp_path_factory.mktemp("class")
    nb = marked(ROOT / "lectures" / "03_mmd_flow.ipynb")
    for cell in nb["cells"]:
        if "def mmd_flow_step(" in "".join(cell["source"]):
            cell["source"] = WRONG_STEP
    (subs / "ann").mkdir()
    (subs / "ann" / "03_mmd_flow.ipynb").write_text(json.dumps(nb))
    grade(subs, ROOT / "lectures", lecture="03", timeout=60, isolation="none", log=lambda *a: None)
    return subs / "ann" / "feedback" / "03_mmd_flow.html"


def test_feedback_page_reads_offline(browser, artifacts, page):
    browser.get(page.as_uri())
    deadline = time.monotonic() + 30
    typeset = 0
    while time.monotonic() < deadline:
        typeset = browser.execute_script("return document.querySelectorAll('mjx-container').length")
        if typeset:
            break
        time.sleep(0.5)
    browser.save_screenshot(str(artifacts / "feedback-03_mmd_flow.png"))
    assert typeset > 0, "no formula typeset: MathJax did not run"
    linked = browser.execute_script(  # every script, style, image and link of the page
        "return [...document.querySelectorAll('[src],[href]')].map(e => e.src || e.href)"
    )
    assert linked and all(url.startswith("file://") for url in linked), linked
    text = browser.execute_script("return document.body.innerText")
    assert text.index("points") < text.index("Exercise 3:")
    wraps = browser.execute_script(
        "const d = document.querySelector('#ex3 .diagnosis');"
        "return [getComputedStyle(d).whiteSpace, d.scrollWidth <= d.clientWidth + 1];"
    )
    assert wraps == ["pre-wrap", True], wraps
