"""The Lab in a real browser: JupyterLab + Chromium driven by Playwright (../shared/recipes/browser-test.md).

Opens a generated notebook, runs the Lab cell, clicks Run, watches the live history plot gain points,
runs a second cell while the search runs (the kernel answers), checks the Population and Best DAG tabs,
clicks Stop and checks that the plot stops growing. The same notebook served by Voila (when installed)
gets Run, a hover and Stop on its live plotly figures too. Screenshots go to ``artifacts/`` (git-ignored;
set NASBENCH_LAB_ARTIFACTS to move them). Skipped where chromium, playwright or jupyterlab (voila) are missing.
"""
from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = next((p for p in (os.environ.get("NASBENCH_LAB_CHROMIUM"), "/usr/bin/chromium",
                             shutil.which("chromium"), shutil.which("chromium-browser")) if p and os.path.exists(p)),
                None)
ARTIFACTS = Path(os.environ.get("NASBENCH_LAB_ARTIFACTS", REPO / "artifacts"))

# The Lab cell: a live evolution run on the CPU. The synthetic estimator scores instantly; its ``delay``
# stands in for training time so the run lasts long enough to watch, stop, and run another cell meanwhile.
LAB_CELL = """\
from nasbench_lab.widgets import Lab
lab = Lab(space="nb201", strategy="evolution", estimator="synthetic", dataset="synthetic", budget=500,
          device="cpu", seed=0, strategy_options={"population": 10, "sample": 3},
          estimator_options={"delay": 0.12})
lab"""
SECOND_CELL = """\
import time
print(f"second cell ran: {lab.progress.value} evaluations so far, search running: {lab.running}")"""


def make_notebook(path: Path) -> Path:
    """A notebook with the Lab cell and a second cell. The kernelspec matters: without it JupyterLab opens
    a "Select Kernel" dialog that swallows every click."""
    def code(src):
        return {"cell_type": "code", "metadata": {}, "source": src, "outputs": [], "execution_count": None}
    nb = {"nbformat": 4, "nbformat_minor": 5,
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                       "language_info": {"name": "python"}},
          "cells": [{"cell_type": "markdown", "metadata": {}, "source": "# nasbench_lab: live search"},
                    code(LAB_CELL), code(SECOND_CELL)]}
    for i, c in enumerate(nb["cells"]):
        c["id"] = f"cell-{i}"
    path.write_text(json.dumps(nb, indent=1))
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _needs_browser():
    if CHROMIUM is None:
        pytest.skip("chromium not installed (apt-get install -y chromium)")
    pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    pytest.importorskip("anywidget")


def _serve(cmd: list[str], root: Path, probe: str, name: str):
    """Start a server in its own process group; return (process, log file) once ``probe`` answers."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
           "JUPYTER_RUNTIME_DIR": str(root / ".runtime"), "OMP_NUM_THREADS": "1"}
    log = open(root / f"{name}.log", "w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True, cwd=root)
    t0 = time.monotonic()
    while True:
        try:
            urllib.request.urlopen(probe, timeout=2)
            return proc, log
        except urllib.error.HTTPError:               # any HTTP answer means the server is up
            return proc, log
        except OSError:
            if proc.poll() is not None or time.monotonic() - t0 > 90:
                _stop(proc, log)
                raise RuntimeError(f"{name} did not start:\n" + (root / f"{name}.log").read_text()[-3000:])
            time.sleep(0.5)


def _stop(proc, log) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)        # our own process group: the server and its kernel
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
    log.close()


@pytest.fixture(scope="module")
def jupyter(tmp_path_factory):
    _needs_browser()
    if shutil.which("jupyter") is None or subprocess.run(["jupyter", "lab", "--version"],
                                                         capture_output=True).returncode != 0:
        pytest.skip("jupyterlab not installed")
    root = tmp_path_factory.mktemp("lab")
    make_notebook(root / "lab.ipynb")
    port, token = _free_port(), secrets.token_hex(16)
    # a clean settings folder; no "official Jupyter news" toast over the notebook
    settings = root / ".settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
    url = f"http://127.0.0.1:{port}"
    proc, log = _serve(["jupyter", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--port={port}",
                        f"--ServerApp.token={token}", "--allow-root", f"--ServerApp.root_dir={root}",
                        f"--LabApp.workspaces_dir={root / '.workspaces'}",
                        f"--LabApp.user_settings_dir={root / '.settings'}"],
                       root, f"{url}/api/status?token={token}", "jupyter")
    yield {"url": url, "token": token, "root": root}
    _stop(proc, log)


# Points held by the visible plotly plots inside output areas (hidden tabs are skipped).
_POINTS_JS = """(sel) => Array.from(document.querySelectorAll(sel))
    .filter(el => el.offsetParent !== null)
    .map(el => (el.data || []).reduce((n, t) => n + ((t.x || []).filter(v => v !== null).length), 0))"""


_TITLES_JS = """(sel) => Array.from(document.querySelectorAll(sel))
    .filter(el => el.offsetParent !== null)
    .map(el => ((el.layout || {}).title || {}).text || "")"""


_IMAGES_JS = """() => Array.from(document.querySelectorAll("img.widget-image"))
    .filter(el => el.offsetParent !== null).map(el => el.src.length + ":" + el.src.slice(-64))"""


def _points(page) -> list[int]:
    return page.evaluate(_POINTS_JS, ".jp-OutputArea .js-plotly-plot")


def _wait_for(fn, timeout: float, what: str, step: float = 0.25):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        v = fn()
        if v:
            return v
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def _run_cell(page, index: int, tries: int = 3) -> None:
    """Shift+Enter in code cell ``index``; again if the prompt shows no sign of execution (a key press that
    lands while the kernel is still connecting can be lost)."""
    cell = page.locator(".jp-Notebook .jp-CodeCell").nth(index)
    prompt = cell.locator(".jp-InputPrompt")
    for _ in range(tries):
        cell.locator(".jp-InputArea-editor").click()
        page.keyboard.press("Shift+Enter")
        t0 = time.monotonic()
        while time.monotonic() - t0 < 15:
            if any(ch in prompt.inner_text() for ch in "*0123456789"):
                return
            time.sleep(0.2)
    raise AssertionError(f"cell {index} did not start executing")


def test_lab_in_jupyterlab(jupyter):
    from playwright.sync_api import sync_playwright
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    timings = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            t0 = time.monotonic()
            page.goto(f"{jupyter['url']}/lab/tree/lab.ipynb?token={jupyter['token']}")
            page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=90_000)
            page.wait_for_selector(".jp-StatusBar-Widget:has-text('Idle')", timeout=90_000)   # kernel ready
            _run_cell(page, 0)
            run = page.locator('.jp-OutputArea button:has-text("Run")')
            run.wait_for(timeout=120_000)
            page.wait_for_selector(".jp-OutputArea .js-plotly-plot", timeout=90_000)
            timings["lab_rendered_s"] = time.monotonic() - t0
            before = sum(_points(page))

            t1 = time.monotonic()
            run.click()
            page.wait_for_selector('.jp-OutputArea :text("running")', timeout=30_000)
            grown = _wait_for(lambda: (s := sum(_points(page))) > before + 5 and s, 60, "the live plot to gain points")
            timings["first_points_after_run_s"] = time.monotonic() - t1
            grown2 = _wait_for(lambda: (s := sum(_points(page))) > grown and s, 30, "more points")
            assert grown2 > grown

            # the kernel answers while the search runs: a second cell executes and prints
            t2 = time.monotonic()
            _run_cell(page, 1)
            out = page.locator(".jp-OutputArea-output:has-text('second cell ran')")
            out.wait_for(timeout=30_000)
            timings["second_cell_s"] = time.monotonic() - t2
            assert "search running: True" in out.inner_text()

            # the Population and Best DAG tabs update live too
            page.locator(".jp-OutputArea .lm-TabBar-tab:has-text('Population')").click()
            pop = _wait_for(lambda: (v := _points(page)) and v[0] > 0 and v[0], 60, "population points")
            pop2 = _wait_for(lambda: (v := _points(page)) and v[0] > pop and v[0], 60, "the population to grow")
            assert pop2 > pop
            page.screenshot(path=str(ARTIFACTS / "lab_population_running.png"))
            page.locator(".jp-OutputArea .lm-TabBar-tab:has-text('Best DAG')").click()
            _wait_for(lambda: (v := _points(page)) and v[0] > 0, 60, "the DAG of the best so far")
            titles = _wait_for(lambda: page.evaluate(_TITLES_JS, ".jp-OutputArea .js-plotly-plot"), 30, "titles")
            assert any(t.startswith("best so far") for t in titles), titles
            page.screenshot(path=str(ARTIFACTS / "lab_dag_running.png"))
            page.locator(".jp-OutputArea .lm-TabBar-tab:has-text('History')").click()

            t3 = time.monotonic()
            page.locator('.jp-OutputArea button:has-text("Stop")').click()
            page.wait_for_selector('.jp-OutputArea :text("stopped")', timeout=30_000)
            timings["stop_s"] = time.monotonic() - t3
            time.sleep(1.0)                          # the last throttled redraw lands
            n1 = sum(_points(page))
            time.sleep(2.0)
            n2 = sum(_points(page))
            assert n1 == n2 > grown2, (n1, n2, grown2)     # stopped: no more points
            page.screenshot(path=str(ARTIFACTS / "lab_stopped.png"))
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "lab_failure.png"))
            raise
        finally:
            browser.close()
    (ARTIFACTS / "browser_timings.json").write_text(json.dumps({k: round(v, 2) for k, v in timings.items()},
                                                                indent=1))
    assert timings["second_cell_s"] < 10 and timings["stop_s"] < 5, timings


PRESET_CELL = """\
from nasbench_lab.widgets import Lab
lab = Lab(space="nb201", strategy="evolution", device="cpu", seed=0)
lab"""


def _field(page, name: str):
    """The input of the form field whose label is ``name`` (scoped to the outputs)."""
    return page.locator(f".jp-OutputArea .widget-inline-hbox:has(> label.widget-label:text-is('{name}')) input")


@contextlib.contextmanager
def _lab_notebook(jupyter, name: str, source: str):
    """A notebook ``name``.ipynb whose one code cell is ``source``, opened in its own JupyterLab workspace
    (why: another test's notebook, restored in the default one, would hold a second hidden Run button that
    every selector would also match); the cell run, its Run button shown. Yields (page, run button, console
    errors); a failure leaves ``<name>_failure.png``."""
    from playwright.sync_api import sync_playwright
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    nb = json.loads((jupyter["root"] / "lab.ipynb").read_text())
    nb["cells"] = [nb["cells"][0], {**nb["cells"][1], "source": source, "id": f"cell-{name}"}]
    (jupyter["root"] / f"{name}.ipynb").write_text(json.dumps(nb, indent=1))
    console = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"])
        page = browser.new_page(viewport={"width": 1400, "height": 1300})
        page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda exc: console.append(f"pageerror: {exc}"))
        try:
            page.goto(f"{jupyter['url']}/lab/workspaces/{name}/tree/{name}.ipynb?reset&token={jupyter['token']}")
            page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=90_000)
            page.wait_for_selector(".jp-StatusBar-Widget:has-text('Idle')", timeout=90_000)
            _run_cell(page, 0)
            run = page.locator('.jp-OutputArea button:has-text("Run")')
            run.wait_for(timeout=120_000)
            yield page, run, console
        except Exception:
            page.screenshot(path=str(ARTIFACTS / f"{name}_failure.png"), full_page=True)
            raise
        finally:
            browser.close()


def test_lab_forms_and_an_evolution_preset(jupyter):
    """What a student does first: pick the classroom preset, mistype a value (the form says what is wrong,
    next to the field, and Run is disabled), correct it, run, and watch members leave the population;
    no console errors on the way. Screenshots: lab_form_error.png, lab_preset_population.png."""
    with _lab_notebook(jupyter, "preset", PRESET_CELL) as (page, run, console):
        # no JSON box in the default view: the advanced accordion is collapsed
        advanced = page.locator(".jp-OutputArea .widget-inline-hbox:has(> label:text-is('strategy opts')) input")
        assert advanced.count() == 1 and not advanced.is_visible()
        preset = page.locator(".jp-OutputArea .widget-dropdown:has(> label:text-is('preset')) select")
        label = next(o for o in preset.locator("option").all_inner_texts() if o.startswith("classroom"))
        preset.select_option(label=label)
        # the preset's own numbers (they differ with and without the shipped table: presets.py)
        from nasbench_lab.widgets.presets import presets
        pop = presets("evolution")[label.replace("\xa0", " ")]["strategy_options"]["population"]
        instant = "table)" in label                       # table lookups: the run ends in seconds (paced)
        _wait_for(lambda: _field(page, "population").input_value() == str(pop), 30, "the preset's population")
        if not instant:
            assert _field(page, "epochs").input_value() == "1"       # the training fidelity is a form too

        sample = _field(page, "sample")
        sample.fill("50")
        sample.press("Enter")
        msg = page.locator(f".jp-OutputArea :text('sample must be an integer in [1, population={pop}], got 50')")
        msg.wait_for(timeout=30_000)
        _wait_for(lambda: run.is_disabled(), 30, "Run to be disabled")
        assert "Traceback" not in page.locator(".jp-OutputArea").first.inner_text()
        page.screenshot(path=str(ARTIFACTS / "lab_form_error.png"), full_page=True)
        sample.fill("3")
        sample.press("Enter")
        _wait_for(lambda: not run.is_disabled(), 30, "Run to be enabled again")
        assert msg.count() == 0

        run.click()
        if not instant:
            page.wait_for_selector('.jp-OutputArea :text("running")', timeout=30_000)
            page.wait_for_selector('.jp-OutputArea :text("s on it")', timeout=60_000)   # the heartbeat
        page.locator(".jp-OutputArea .lm-TabBar-tab:has-text('Population')").click()

        def removed():
            titles = page.evaluate(_TITLES_JS, ".jp-OutputArea .js-plotly-plot")
            return next((t for t in titles if "removed" in t and " 0 removed" not in t), None)
        title = _wait_for(removed, 240, "members to leave the population", step=1.0)
        assert f"{pop} alive" in title, title
        page.screenshot(path=str(ARTIFACTS / "lab_preset_population.png"), full_page=True)
        if instant:
            page.wait_for_selector('.jp-OutputArea :text("finished")', timeout=30_000)
        else:
            page.locator('.jp-OutputArea button:has-text("Stop")').click()
            page.wait_for_selector('.jp-OutputArea :text("stopped")', timeout=30_000)
        page.locator(".jp-OutputArea .lm-TabBar-tab:has-text('Best DAG')").click()
        _wait_for(lambda: [t for t in page.evaluate(_TITLES_JS, ".jp-OutputArea .js-plotly-plot")
                           if t.startswith("best so far")], 30, "the best DAG after Stop")
        page.screenshot(path=str(ARTIFACTS / "lab_preset_stopped_dag.png"), full_page=True)
    assert not console, console


DARTS_CELL = """\
from nasbench_lab.widgets import Lab
lab = Lab(space="nb201", strategy="darts", device="cpu", seed=0)
lab"""

# The alpha weights the visible plots hold (every trace but the uniform reference line).
_ALPHA_MAX_JS = """(sel) => Math.max(...Array.from(document.querySelectorAll(sel))
    .filter(el => el.offsetParent !== null)
    .flatMap(el => (el.data || []).filter(t => !(t.name || "").startsWith("uniform"))
                                  .flatMap(t => (t.y || []).filter(v => typeof v === "number"))), 0)"""


def test_lab_darts_preset_alphas_separate(jupyter):
    """The DARTS classroom preset: after two supernet epochs the Alphas tab shows weights visibly off the
    uniform 1/5 (on an axis scaled to them), with no console errors. Screenshot: lab_darts_alphas.png."""
    with _lab_notebook(jupyter, "darts", DARTS_CELL) as (page, run, console):
        preset = page.locator(".jp-OutputArea .widget-dropdown:has(> label:text-is('preset')) select")
        label = next(o for o in preset.locator("option").all_inner_texts() if o.startswith("classroom"))
        preset.select_option(label=label)
        _wait_for(lambda: _field(page, "arch_lr").input_value() == "0.01", 30, "the preset's alpha lr")
        run.click()
        page.wait_for_selector('.jp-OutputArea :text("supernet epoch")', timeout=60_000)   # the heartbeat
        page.locator(".jp-OutputArea .lm-TabBar-tab:has-text('Alphas')").click()
        top = _wait_for(lambda: (v := page.evaluate(_ALPHA_MAX_JS, ".jp-OutputArea .js-plotly-plot")) > 0.24 and v,
                        400, "an alpha weight visibly above uniform 0.2", step=2.0)
        ranges = page.evaluate("""() => Array.from(document.querySelectorAll('.jp-OutputArea .js-plotly-plot'))
            .filter(el => el.offsetParent !== null
                          && (el.data || []).some(t => (t.name || '').startsWith('uniform')))
            .flatMap(el => Object.entries(el.layout || {}).filter(([k]) => k.startsWith('yaxis'))
                             .map(([k, a]) => a.range || []))""")
        # the alpha plot's axes are scaled to the weights (not a fixed 0-1, where 0.2 vs 0.25 is flat)
        assert ranges and all(r and r[1] - r[0] < 0.5 for r in ranges if r), ranges
        page.locator(".jp-OutputArea .lm-TabBar-tab:has-text('Alphas')").scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "lab_darts_alphas.png"))
        page.locator('.jp-OutputArea button:has-text("Stop")').click()
        page.wait_for_selector('.jp-OutputArea :text("stopped")', timeout=30_000)
    assert top > 0.24 and not console, (top, console)


def test_lab_in_voila(tmp_path):
    """The same notebook as a Voila app: live, interactive plotly figures (not PNG frames): Run fills the
    plot, a hover shows a point's tooltip, Stop stops it, and no widget fails to initialise."""
    _needs_browser()
    if shutil.which("voila") is None:
        pytest.skip("voila not installed (pip install voila)")
    from playwright.sync_api import sync_playwright
    make_notebook(tmp_path / "lab.ipynb")
    port, token = _free_port(), secrets.token_hex(16)
    url = f"http://127.0.0.1:{port}"
    proc, log = _serve(["voila", "lab.ipynb", "--no-browser", "--Voila.ip=127.0.0.1", f"--port={port}",
                        f"--token={token}"], tmp_path, f"{url}/voila/static/main.js", "voila")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    errors = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu",
                                                                         "--disable-dev-shm-usage"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            try:
                page.goto(f"{url}/?token={token}", timeout=120_000)
                run = page.locator('button:has-text("Run")')
                run.wait_for(timeout=120_000)
                page.wait_for_selector(".js-plotly-plot", timeout=90_000)
                points = lambda: sum(page.evaluate(_POINTS_JS, ".js-plotly-plot"))       # noqa: E731
                before = points()
                run.click()
                page.wait_for_selector(':text("running")', timeout=30_000)
                grown = _wait_for(lambda: (n := points()) > before + 5 and n, 60, "the live plot to gain points")
                _wait_for(lambda: points() > grown, 30, "more points")
                page.locator('button:has-text("Stop")').click()
                page.wait_for_selector(':text("stopped")', timeout=30_000)
                time.sleep(1.5)                                        # the last throttled redraw lands
                n1 = points()
                # interactive: hovering the first evaluation's marker shows plotly's tooltip
                box = page.locator(".js-plotly-plot .scatterlayer .trace .points path").first.bounding_box()
                page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
                page.wait_for_selector(".js-plotly-plot .hoverlayer .hovertext", timeout=10_000)
                page.screenshot(path=str(ARTIFACTS / "voila_live_plot.png"))
                time.sleep(1.5)
                assert points() == n1 > grown                          # stopped: no more points
            except Exception:
                page.screenshot(path=str(ARTIFACTS / "voila_failure.png"))
                raise
            finally:
                browser.close()
    finally:
        _stop(proc, log)
    assert not [e for e in errors if "anywidget" in e or "gd.data" in e], errors


def test_classroom_app_in_voila(tmp_path):
    """`voila notebooks/app.ipynb`, the classroom app as shipped: the Lab and the RunBrowser render, with
    live plotly figures, classroom presets to pick, and no widget that fails to initialise."""
    _needs_browser()
    if shutil.which("voila") is None:
        pytest.skip("voila not installed (pip install voila)")
    from playwright.sync_api import sync_playwright
    shutil.copy(REPO / "notebooks" / "app.ipynb", tmp_path / "app.ipynb")
    port, token = _free_port(), secrets.token_hex(16)
    url = f"http://127.0.0.1:{port}"
    os.environ["NASBENCH_LAB_APP_STORE"] = str(tmp_path / "runs.sqlite")       # the kernel inherits it
    try:
        proc, log = _serve(["voila", "app.ipynb", "--no-browser", "--Voila.ip=127.0.0.1", f"--port={port}",
                            f"--token={token}"], tmp_path, f"{url}/voila/static/main.js", "voila-app")
    finally:
        del os.environ["NASBENCH_LAB_APP_STORE"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    errors = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu",
                                                                         "--disable-dev-shm-usage"])
            page = browser.new_page(viewport={"width": 1400, "height": 1400})
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            try:
                page.goto(f"{url}/?token={token}", timeout=120_000)
                page.locator('button:has-text("Run")').wait_for(timeout=120_000)
                page.locator('button:has-text("Replay")').wait_for(timeout=60_000)           # the RunBrowser
                _wait_for(lambda: page.evaluate("() => document.querySelectorAll('.js-plotly-plot').length"),
                          60, "a plotly figure")
                preset = page.locator(".widget-dropdown:has(> label:text-is('preset')) select")
                assert any(o.startswith("classroom") for o in preset.locator("option").all_inner_texts())
                time.sleep(1.0)
                page.screenshot(path=str(ARTIFACTS / "voila_app.png"), full_page=True)
            except Exception:
                page.screenshot(path=str(ARTIFACTS / "voila_app_failure.png"))
                raise
            finally:
                browser.close()
    finally:
        _stop(proc, log)
    assert not [e for e in errors if "anywidget" in e or "gd.data" in e], errors
    assert (tmp_path / "runs.sqlite").exists()                     # the store went where it was told
