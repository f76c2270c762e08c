"""The playground: its runs are GDRegressor's histories, its step table and exported code reproduce them,
the command's user errors, and (with Debian's Chromium) the page itself in a real browser."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from gradfit import GDRegressor
from gradfit.cli import GradfitGroup
from gradfit.cli import playground as playground_cli
from gradfit.errors import OptionError
from gradfit.playground import server
from gradfit.playground.data import read_csv, tutorial_sets
from gradfit.playground.descent import Run, Settings
from gradfit.playground.export import gradfit_code, torch_code
from gradfit.playground.steps import step_numbers

CHROMIUM = "/usr/bin/chromium"
SETS = tutorial_sets()


def history_theta(model: GDRegressor) -> np.ndarray:
    h = model.history_
    return np.column_stack([np.asarray(h.coef, dtype=float).reshape(len(h), -1), h.intercept])


def run_code(code: str) -> tuple[list[float], float]:
    """exec exported code; it prints ``[coef...] intercept``"""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "<exported>", "exec"), {})
    coef, intercept = out.getvalue().strip().rsplit(" ", 1)
    return [float(c) for c in coef.strip("[]").split(",")], float(intercept)


# ------------------------------------------------------------------ runs are GDRegressor's histories

def test_a_run_is_gdregressors_history_with_every_step():
    data = SETS["autograd"]
    settings = Settings(lr=0.1, epochs=4, batch_size=2, preprocess="standardize", seed=3)
    run = Run.start(data, settings)
    reference = GDRegressor(**settings.params()).fit(data.X, data.y)
    assert len(run) == len(reference.history_) == 1 + 4 * 3
    np.testing.assert_array_equal(run.theta, history_theta(reference))
    np.testing.assert_array_equal(run.column("loss"), reference.history_.loss)
    np.testing.assert_allclose(run.epochs, np.arange(len(run)) / 3)
    assert settings.params()["tol"] is None and settings.params()["preprocess"] == "standardize"


def test_changing_the_learning_rate_continues_from_the_step_on_screen():
    data = SETS["autograd"]
    settings = Settings(lr=0.1, epochs=5, batch_size=2, preprocess="standardize", seed=3)
    run = Run.start(data, settings)
    continued = run.change_lr(0.02, 7, "continue")
    np.testing.assert_array_equal(continued.theta[:8], run.theta[:8])  # the first 7 steps stay
    # the rest is a second GDRegressor fit from step 7's parameters (descent units) with the new rate
    model = run.segments[0].model
    theta = model.preprocessor_.to_transformed(model.history_.coef[7], model.history_.intercept[7],
                                               model.result_.model)
    second = GDRegressor(**settings.params(init=(theta[:-1], theta[-1]), epochs=3, lr=0.02)).fit(data.X, data.y)
    np.testing.assert_allclose(continued.theta[7:], history_theta(second), rtol=1e-12)
    assert continued.column("step").tolist() == list(range(len(continued)))
    restarted = run.change_lr(0.02, 7, "restart")
    np.testing.assert_array_equal(restarted.theta, Run.start(data, Settings(**{**settings.__dict__, "lr": 0.02})).theta)


def test_the_step_table_explains_each_update():
    data = SETS["autograd"]
    run = Run.start(data, Settings(lr=0.05, epochs=3, batch_size=2, preprocess="center", seed=1))
    for k in range(1, len(run)):
        s = step_numbers(run, k)
        np.testing.assert_allclose(s.update, -s.lr * s.gradient, rtol=1e-9, atol=1e-12)  # plain SGD
        np.testing.assert_allclose(s.after_original, run.theta[k], rtol=1e-12)
        # an independent gradient: 2·mean(r·[x, 1]) over the batch's centered rows
        x = data.X[s.rows, 0] - data.X[:, 0].mean()
        r = s.before[0] * x + s.before[1] - (data.y[s.rows] - data.y.mean())
        np.testing.assert_allclose(s.gradient, [2 * np.mean(r * x), 2 * np.mean(r)], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(s.residual, r, rtol=1e-10, atol=1e-12)
    assert sorted(sum((step_numbers(run, k).rows for k in (1, 2, 3)), [])) == [0, 1, 2, 3, 4]  # one epoch
    with pytest.raises(IndexError, match=r"step 0 is not in this run \(1..9\)"):
        step_numbers(run, 0)


@pytest.mark.parametrize("settings, cut", [
    (Settings(lr=0.1, epochs=5, batch_size=2, preprocess="standardize", seed=3), 7),
    (Settings(lr=0.05, momentum=0.9, nesterov=True, epochs=6, batch_size=1, preprocess="standardize", seed=2,
              loss="half_mse"), 5),
    (Settings(optimizer="rmsprop", lr=0.05, epochs=8, preprocess="none", seed=0), 4),
    (Settings(optimizer="adam", lr=0.3, epochs=8, preprocess="standardize", seed=1, batch_size=3), None),
])
def test_exported_code_reproduces_the_run(settings, cut):
    run = Run.start(SETS["autograd"], settings)
    if cut is not None:
        run = run.change_lr(0.02, cut, "continue")
    end = run.theta[-1]
    for code in (gradfit_code(run), torch_code(run)):
        coef, intercept = run_code(code)
        np.testing.assert_allclose([*coef, intercept], end, rtol=1e-9)


def test_exported_code_for_a_model_without_bias_and_for_a_csv(tmp_path):
    run = Run.start(SETS["hypothesis"], Settings(fit_intercept=False, lr=0.15, epochs=10))
    assert run_code(torch_code(run))[0] == pytest.approx([run.theta[-1, 0]], rel=1e-12)
    assert run_code(gradfit_code(run))[1] == 0.0
    path = tmp_path / "points.csv"
    path.write_text("a,b,y\n1,2,5\n2,1,4\n3,3,9\n4,0,4\n", encoding="utf-8")
    data = read_csv(path, "y")
    assert data.feature_names == ["a", "b"] and data.name == "points"
    run = Run.start(data, Settings(lr=0.05, epochs=20))
    code = gradfit_code(run, path)
    assert f"pd.read_csv({str(path)!r})" in code
    np.testing.assert_allclose(run_code(code)[0], run.theta[-1, :2], rtol=1e-12)


def test_tutorial_sets_hold_the_tutorials_numbers():
    assert SETS["hypothesis"].X[:, 0].tolist() == [1.0, 2.0, 3.0] and not SETS["hypothesis"].fit_intercept
    assert SETS["autograd"].y.tolist() == [58.7, 75.7, 62.1, 70.4, 60.1]
    assert SETS["from-scratch"].y[0] == 20 * -50 + 5 and len(SETS["from-scratch"].y) == 100
    assert SETS["diabetes"].X.shape == (442, 10) and SETS["neuron"].feature_names == ["bmi"]


# ------------------------------------------------------------------ the command

@pytest.fixture
def app():
    app = typer.Typer(cls=GradfitGroup)

    @app.callback()
    def main():
        """gradfit (test app)"""

    playground_cli.register(app)
    return app


@pytest.mark.parametrize("args, message", [
    (["points.csv"], "error: give DATA and --target together"),
    (["--target", "y"], "error: give DATA and --target together"),
    (["--lang", "fr"], "error: option --lang 'fr' is not one of en, ko"),
    (["--port", "70000"], r"error: option --port 70000 is not a port number \(1..65535\)"),
    (["{missing}", "--target", "y"], "error: data file .*missing.csv"),
    (["{csv}", "--target", "price"], "error: data file .*price"),
])
def test_command_user_errors_are_one_line_and_exit_2(app, args, message, write_file, tmp_path):
    csv = write_file("points.csv", "x,y\n1,2\n2,4\n3,6\n")
    args = [a.replace("{missing}", str(tmp_path / "missing.csv")).replace("{csv}", str(csv)) for a in args]
    result = CliRunner().invoke(app, ["playground", *args])
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1 and re.match(message, result.output.strip()), result.output


def test_a_taken_port_is_named():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(OptionError, match=f"option --port {port}: the port is already in use on 127.0.0.1"):
            server.check_port(port)


def test_command_serves_on_localhost_and_ctrl_c_stops_it(app, monkeypatch):
    calls = []

    def fake_serve(csv, target, port, lang, open_browser, announce):
        calls.append((csv, target, port, lang, open_browser))
        raise KeyboardInterrupt

    monkeypatch.setattr(server, "serve", fake_serve)
    result = CliRunner().invoke(app, ["playground", "--port", "8765", "--no-browser", "--lang", "ko"])
    assert result.exit_code == 130 and "stopped the playground" in result.output
    assert calls == [(None, None, 8765, "ko", False)]


# ------------------------------------------------------------------ the page in a real browser

@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (install it with make system-deps)")
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def url():
    thread, address = server.start()
    yield address
    thread.stop()


#: how long a page may take to react (generous: a loaded 2-core machine runs the server and Chromium)
WAIT_MS = 60_000


def _page(browser, url, width=1366, height=800):
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(url)
    page.wait_for_selector(".gf-status-line", timeout=30000)
    page.wait_for_load_state("networkidle")
    return page


def _status_step(page) -> int:
    return int(page.locator(".gf-status-line").get_attribute("data-step"))


def _wait_step(page, k: int) -> None:
    page.wait_for_selector(f'.gf-status-line[data-step="{k}"]', timeout=WAIT_MS)


def _play_to(page, last: int, tries: int = 3) -> None:
    """press play and wait for the run's step ``last``; a press is taken once the page shows it playing (❚❚) or
    done, and pressed again otherwise (a click that lands while the page redraws the button is lost)"""
    playing_or_done = f"""() => {{
        const status = document.querySelector('.gf-status-line');
        const button = document.querySelector('.gf-run button');
        return (status && status.dataset.step === '{last}') || (button && button.innerText.includes('❚❚'));
    }}"""
    for _ in range(tries):
        page.locator(".gf-run button").click()
        try:
            page.wait_for_function(playing_or_done, timeout=WAIT_MS // 6)
            break
        except Exception as exc:  # playwright's TimeoutError
            if "Timeout" not in type(exc).__name__:
                raise
    _wait_step(page, last)


def _cell(page, key: str) -> float:
    return float(page.locator(f'td[data-key="{key}"]').first.get_attribute("data-value"))


def test_page_runs_steps_and_shows_gdregressors_numbers(browser, url, tmp_path):
    page = _page(browser, url)
    page.locator(".gf-data select").select_option("autograd")
    page.wait_for_selector('.gf-status-line:has-text("of 500")', timeout=WAIT_MS)
    for k in (1, 2, 3):
        page.locator(".gf-step-button button").click()
        _wait_step(page, k)
    data = SETS["autograd"]
    settings = Settings(lr=0.001, epochs=500, preprocess="center", seed=0)
    reference = GDRegressor(**settings.params()).fit(data.X, data.y)
    h = reference.history_
    assert _cell(page, "after_data-0") == pytest.approx(h.coef[3][0], rel=1e-12)
    assert _cell(page, "after_data-1") == pytest.approx(h.intercept[3], rel=1e-12)
    assert float(page.locator(".gf-status-line").get_attribute("data-loss")) == pytest.approx(h.loss[3], rel=1e-12)
    # the learning-rate slider (log scale) moves up: the run continues from step 3 at the new rate
    handle = page.locator(".gf-lr .noUi-handle")
    handle.focus()
    for _ in range(2):
        handle.press("PageUp")  # 2 × 5 steps of 0.05 in log10: 0.001 → 0.00316
    page.wait_for_selector('.gf-status-line[data-lr="0.00316"][data-step="3"][data-segments="2"]', timeout=20000)
    page.locator(".gf-step-button button").click()
    _wait_step(page, 4)
    first = GDRegressor(**settings.params(epochs=500)).fit(data.X, data.y)
    model = first
    theta = model.preprocessor_.to_transformed(model.history_.coef[3], model.history_.intercept[3],
                                               model.result_.model)
    second = GDRegressor(**settings.params(init=(theta[:-1], theta[-1]), epochs=500, lr=0.00316)).fit(data.X, data.y)
    assert _cell(page, "after_data-0") == pytest.approx(second.history_.coef[1][0], rel=1e-12)
    page.screenshot(path=str(tmp_path / "laptop.png"))


def test_page_switches_to_korean_and_exports_code_that_runs(browser, url, tmp_path):
    page = _page(browser, url, 390, 844)
    page.locator(".gf-lang button", has_text="한국어").click()
    page.wait_for_selector('.gf-status-line:has-text("스텝 0/10")', timeout=WAIT_MS)
    assert "경사 하강법" in page.locator(".gf-title h2").inner_text()
    _play_to(page, 10)  # play runs to the end on its own
    page.locator(".gf-replay button").click()
    _wait_step(page, 0)
    page.locator(".gf-step-button button").click()
    _wait_step(page, 1)
    assert "그래디언트" in page.locator(".gf-table .gf-step").inner_text()
    page.locator(".gf-race button", has_text="adam").click()
    page.wait_for_timeout(500)
    page.locator("text=내보내기").first.click()
    code = page.locator(".gf-export-gradfit pre").inner_text()
    coef, intercept = run_code(code)
    reference = GDRegressor(**Settings(fit_intercept=False, lr=0.15, epochs=10).params()).fit(
        SETS["hypothesis"].X, SETS["hypothesis"].y)
    assert coef == pytest.approx(reference.coef_.tolist(), rel=1e-12) and intercept == 0.0
    page.locator("text=PyTorch").first.click()
    assert run_code(page.locator(".gf-export-torch pre").inner_text())[0] == pytest.approx(coef, rel=1e-9)
    page.screenshot(path=str(tmp_path / "phone.png"), full_page=True)


def test_screenshots_for_the_readme(browser, url, request):
    """writes docs/images/playground-*.png when run with GRADFIT_SCREENSHOTS=1 (to look at them)"""
    import os

    if not os.environ.get("GRADFIT_SCREENSHOTS"):
        pytest.skip("set GRADFIT_SCREENSHOTS=1 to refresh the README's screenshots")
    out = Path(request.config.rootpath) / "docs" / "images"
    out.mkdir(parents=True, exist_ok=True)
    for name, (width, height), lang in (("laptop", (1366, 800), "en"), ("phone-ko", (390, 844), "ko")):
        page = _page(browser, url, width, height)
        if lang == "ko":
            page.locator(".gf-lang button", has_text="한국어").click()
            page.wait_for_selector('.gf-status-line:has-text("스텝")', timeout=WAIT_MS)
        page.locator(".gf-data select").select_option("autograd")
        page.wait_for_selector('.gf-status-line:has-text("500")', timeout=WAIT_MS)
        page.locator(".gf-race button", has_text="momentum 0.9").click()
        page.wait_for_timeout(800)
        for _ in range(3):
            page.locator(".gf-step-button button").click()
        page.wait_for_timeout(300)
        page.locator(".gf-run button").click()
        page.wait_for_timeout(1500)
        page.locator(".gf-run button").click()
        page.wait_for_timeout(500)
        page.screenshot(path=str(out / f"playground-{name}.png"), full_page=lang == "ko")
