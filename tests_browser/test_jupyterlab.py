"""End to end: open a lecture in JupyterLab, run all cells, move a slider, see the plot change."""

from __future__ import annotations

import time

import pytest

# Each lecture with an interactive demo, and the slider to move in it.
LECTURES = ["02_mmd.ipynb", "03_mmd_flow.ipynb", "05_noise_injection.ipynb", "08_kale.ipynb"]


def _wait(predicate, timeout, what, interval=0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _js(driver, script, *args):
    return driver.execute_script(script, *args)


# Every query looks inside the current notebook panel only: JupyterLab keeps the lectures opened
# before in the page (other tabs), and under load a run-all sent before the new panel was current
# ran nothing in it.
PANEL = "const panel = window.jupyterapp.shell.currentWidget.node;"

BUSY_PROMPTS = (
    PANEL
    + """
const prompts = [...panel.querySelectorAll('.jp-Notebook .jp-InputArea-prompt')];
return prompts.filter(p => p.textContent.includes('*')).length;
"""
)

UNRUN_CODE_CELLS = (
    PANEL
    + """
const cells = [...panel.querySelectorAll('.jp-Notebook .jp-CodeCell')];
return cells.filter(c => {
  const p = c.querySelector('.jp-InputArea-prompt');
  const src = c.querySelector('.jp-InputArea-editor').textContent.trim();
  return src.length > 0 && p && !/\\[\\d+\\]/.test(p.textContent);
}).length;
"""
)

ERROR_OUTPUTS = (
    PANEL
    + """
return panel.querySelectorAll(
  '.jp-Notebook [data-mime-type="application/vnd.jupyter.error"]').length;
"""
)

ERROR_TEXT = (
    PANEL
    + """
const errors = panel.querySelectorAll(
  '.jp-Notebook [data-mime-type="application/vnd.jupyter.error"]');
return [...errors].map(e => e.textContent).join('\\n');
"""
)


def _finished(browser) -> bool:
    """All cells ran; an error stops the wait at once with its text (Run All stops there, so
    waiting on would only time out)."""
    if _js(browser, ERROR_OUTPUTS):
        raise AssertionError("a cell raised an error in the browser:\n" + _js(browser, ERROR_TEXT))
    return _js(browser, BUSY_PROMPTS) == 0 and _js(browser, UNRUN_CODE_CELLS) == 0


DEMO_IMAGE = PANEL + (
    "const img = panel.querySelector('.kernelflows-demo img'); return img && img.src;"
)

# The lecture's panel is the current one and its kernel is idle: only then does run-all reach it.
READY = """
const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
if (!w || !w.context || w.context.path !== arguments[0] || !w.sessionContext) return false;
const kernel = w.sessionContext.session && w.sessionContext.session.kernel;
return !!(w.node.querySelector('.jp-Notebook .jp-Cell') && kernel && kernel.status === 'idle');
"""


@pytest.mark.parametrize("lecture", LECTURES)
def test_run_all_cells_and_move_a_slider(lab, browser, artifacts, lecture):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    stem = lecture.removesuffix(".ipynb")
    browser.get(f"{lab['url']}/lab/tree/{lecture}?token={lab['token']}")
    _wait(lambda: _js(browser, READY, lecture), 180, "the notebook to open with an idle kernel")
    _js(browser, "window.jupyterapp.commands.execute('notebook:run-all-cells');")
    _wait(lambda: _finished(browser), 300, "all cells to finish", interval=1.0)
    assert _js(browser, ERROR_OUTPUTS) == 0, "a cell raised an error in the browser"

    before = _wait(lambda: _js(browser, DEMO_IMAGE), 60, "the demo's picture")
    panel = _js(browser, "return window.jupyterapp.shell.currentWidget.node;")
    demo = panel.find_element(By.CSS_SELECTOR, ".kernelflows-demo")
    _js(browser, "arguments[0].scrollIntoView({block: 'start'});", demo)
    browser.save_screenshot(str(artifacts / f"{stem}-before.png"))

    handle = demo.find_element(By.CSS_SELECTOR, ".noUi-handle")
    handle.click()
    for _ in range(8):
        handle.send_keys(Keys.ARROW_RIGHT)
    after = _wait(lambda: (src := _js(browser, DEMO_IMAGE)) != before and src, 60,
                  "the picture to change after moving the slider")  # fmt: skip
    time.sleep(1)
    browser.save_screenshot(str(artifacts / f"{stem}-after.png"))
    assert after != before
