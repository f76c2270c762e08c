"""The five lessons: both languages, step-by-step vs one-call agreement, the tutorials' own numbers, the CLI."""

import io
import json
import math
import re
import string
from importlib import resources

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

import gradfit.cli.lesson as cli_lesson
from gradfit import lessons
from gradfit.errors import OptionError
from gradfit.lessons import LESSONS, LessonCheckError, describe, run_lesson
from gradfit.lessons.session import Session, difference

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """every lesson run once in each language (the runs are shared by the tests below)"""
    out = {}
    for name in LESSONS:
        for lang in ("en", "ko"):
            folder = tmp_path_factory.mktemp(f"{name}-{lang}")
            out[name, lang] = run_lesson(name, lang=lang, out_dir=folder, stream=io.StringIO())
    return out


@pytest.mark.parametrize("name", list(LESSONS))
def test_both_languages_print_the_same_numbers_and_different_narration(runs, name):
    en, ko = runs[name, "en"], runs[name, "ko"]
    assert en.lines("out") and en.lines("out") == ko.lines("out")
    assert en.lines("code") == ko.lines("code")
    assert len(en.lines("say")) == len(ko.lines("say"))
    assert all(a != b for a, b in zip(en.lines("say"), ko.lines("say")))
    assert any(re.search("[가-힣]", line) for line in ko.lines("say"))
    assert [(a.what, a.difference) for a in en.agreements] == [(a.what, a.difference) for a in ko.agreements]
    assert repr(en.numbers) == repr(ko.numbers)


@pytest.mark.parametrize("name", list(LESSONS))
def test_step_by_step_and_one_call_agree_and_plots_are_written(runs, name):
    result = runs[name, "en"]
    assert result.ok and result.agreements
    assert len(result.lines("check")) == len(result.agreements)
    assert all(line.startswith("✓ ") for line in result.lines("check"))
    for agreement in result.agreements:
        assert agreement.difference <= agreement.tolerance <= 1e-1
    assert result.paths
    for kind, path in result.paths.items():
        assert path.name.startswith(f"{name}-{kind}")
        if path.suffix == ".dot":  # a graph without Graphviz: the DOT text, which says so in the narration
            assert path.read_text().startswith("digraph")
            continue
        assert path.stat().st_size > 2000
        if path.suffix == ".png":
            assert path.read_bytes()[:8] == PNG_MAGIC


@pytest.mark.parametrize("name", list(LESSONS))
def test_the_printed_code_is_the_code_that_ran(runs, name):
    source = resources.files("gradfit.lessons").joinpath(f"{LESSONS[name].module.rsplit('.', 1)[1]}.py")
    text = source.read_text(encoding="utf-8")
    for block in runs[name, "en"].lines("code"):
        for part in block.split("\n\n"):
            if not part.startswith("─"):
                assert part.strip("─\n") in text


def test_hypothesis_replays_the_pytorch_tutorial_line_by_line(runs):
    # cost(W) = (W − 1)²·14/3; a step multiplies W − 1 by 1 − 0.15·28/3 = −0.4, so W_k = 1 − (−0.4)^k
    out = runs["hypothesis", "en"].lines("out")
    tutorial = out[:11]
    assert tutorial[1] == "EPOCH 1, W:tensor([1.4000], requires_grad=True), cost:0.7466669678688049"  # as printed
    for k, line in enumerate(tutorial):
        match = re.fullmatch(r"EPOCH (\d+), W:tensor\(\[(.+)\], requires_grad=True\), cost:(.+)", line)
        assert match, line
        W = 1 - (-0.4) ** k
        assert int(match[1]) == k and match[2] == ("0." if k == 0 else f"{W:.4f}")
        # float32: W carries a relative error of about 1e-7, which (W − 1)² magnifies as W nears 1
        assert float(match[3]) == pytest.approx((W - 1) ** 2 * 14 / 3, rel=1e-3, abs=1e-12)


def test_hypothesis_derives_the_same_epochs_by_hand_and_in_one_call(runs):
    expected = [f"Epoch {k:4d}/10 W: {1 - (-0.4) ** k:.3f}, Cost: {(-0.4) ** (2 * k) * 14 / 3:.6f}"
                for k in range(11)]
    result = runs["hypothesis", "en"]
    assert result.lines("out")[11:22] == expected
    assert result.lines("out")[11:13] == ["Epoch    0/10 W: 0.000, Cost: 4.666667",
                                          "Epoch    1/10 W: 1.400, Cost: 0.746667"]
    assert result.lines("out")[22:] == expected  # gradfit's history prints the same lines
    assert result.numbers["W"] == pytest.approx(1 - 0.4**10, abs=1e-12)
    assert abs(result.numbers["gradfit_W"] - 1.0) < 1e-3
    assert [a.what for a in result.agreements] == ["W and cost at every epoch (tutorial vs by hand)",
                                                   "W and cost at every epoch"]


def test_hypothesis_without_torch_runs_the_derivation_and_says_why(monkeypatch, tmp_path):
    from gradfit.lessons import hypothesis

    monkeypatch.setattr(hypothesis, "torch", None)
    result = run_lesson("hypothesis", out_dir=tmp_path, stream=io.StringIO())
    assert result.ok and result.lines("out")[0] == "Epoch    0/10 W: 0.000, Cost: 4.666667"
    assert any("pip install 'gradfit[torch]'" in line for line in result.lines("say"))
    assert result.numbers["torch_path"] is None


def _tutorial_float64_loop():
    """the autograd tutorial in NumPy float64: the loss every 10 epochs, W and B"""
    x = np.array([166.0, 176.0, 171.0, 173.0, 169.0])
    y = np.array([58.7, 75.7, 62.1, 70.4, 60.1])
    xc, yc = x - x.mean(), y - y.mean()
    W = B = 1.0
    losses = []
    for epoch in range(500):
        r = W * xc + B - yc
        if epoch % 10 == 0:
            losses.append(float(np.mean(r**2)))
        W, B = W - 0.001 * 2 * np.mean(r * xc), B - 0.001 * 2 * np.mean(r)
    return W, B, losses, y.mean() + B - W * x.mean()


def test_autograd_prints_the_tutorials_lines(runs):
    out = runs["autograd", "en"].lines("out")
    _, _, losses, _ = _tutorial_float64_loop()
    assert out[:50] == [f"epoch = {10 * k} loss = {loss:.4f}" for k, loss in enumerate(losses)]
    assert out[0] == "epoch = 0 loss = 13.3520"
    assert out[50:53] == ["initial loss = 13.3520, final loss = 4.6796", "W = 1.820683", "B = 0.3675114"]


def test_autograd_matches_an_independent_float64_loop(runs):
    W, B, losses, intercept = _tutorial_float64_loop()
    numbers = runs["autograd", "en"].numbers
    assert difference([numbers["W"], numbers["B"], *numbers["losses"]], [W, B, *losses]) < 1e-5  # float32 torch
    assert numbers["intercept"] == pytest.approx(intercept, rel=1e-5)
    assert numbers["optimizer"] == (numbers["W"], numbers["B"], numbers["losses"])
    assert {"graph-prediction", "graph-loss", "learning-curve", "fitted-line"} <= set(runs["autograd", "en"].paths)
    lines = runs["autograd", "en"].lines("out")
    assert "prediction: Mul -> Add" in lines and "loss: Mul -> Add -> Sub -> Pow -> Mean" in lines


def test_zero_grad_prints_the_tutorial_lines_and_shows_gradients_piling_up(runs):
    result = runs["zero-grad", "en"]
    out, numbers = result.lines("out"), result.numbers
    assert out[0] == "Epoch    0/1999 W: 0.187, b: 0.080 Cost: 18.666666"  # the tutorial's first line
    assert out[19].startswith("Epoch 1900/1999 W: 1.997, b: 0.008")
    assert abs(numbers["W"] - 2) < 0.01 and abs(numbers["b"]) < 0.01
    assert numbers["piled"] == [2.0, 4.0, 6.0, 8.0, 10.0]
    accumulated = np.array(numbers["accumulated"])  # (W.grad, true dW, b.grad, true db) per step
    np.testing.assert_allclose(accumulated[:, 0], np.cumsum(accumulated[:, 1]), rtol=1e-5)
    np.testing.assert_allclose(accumulated[:, 2], np.cumsum(accumulated[:, 3]), rtol=1e-5)
    assert abs(accumulated[1, 0]) > 2 * abs(accumulated[1, 1])
    assert abs(numbers["broken_W"] - 2) + abs(numbers["broken_b"]) > 0.5
    assert max(numbers["broken_costs"][1000:]) > 1.0 and numbers["costs"][-1] < 1e-4


def test_from_scratch_meets_the_books_checks(runs):
    numbers = runs["from-scratch", "en"].numbers
    assert numbers["origin"]["distance"] < 0.001
    assert numbers["origin"]["minimize"] == numbers["origin"]["end"] == numbers["origin"]["maximize"]
    slope, intercept = numbers["full"]
    assert abs(slope - 20) < 0.01 and abs(intercept - 5) < 0.01
    for mode in ("minibatch", "single"):
        slope, intercept = numbers[mode]
        assert 19.9 < slope < 20.1 and 4.9 < intercept < 5.1  # the book's asserts
    assert numbers["gradfit_full"] == pytest.approx(numbers["full"], rel=1e-9)
    assert numbers["gradfit_single"] == pytest.approx(numbers["single"], rel=1e-9)
    assert numbers["gradfit_minibatch"] == pytest.approx([20.0, 5.0], abs=1e-3)


def test_neuron_reproduces_the_books_weights(runs):
    numbers = runs["neuron", "en"].numbers
    # printed by "Do it! 딥러닝 입문", chapter 3: 913.5973364345905 123.39414383177204
    assert numbers["w"] == pytest.approx(913.5973364345905, rel=1e-10)
    assert numbers["b"] == pytest.approx(123.39414383177204, rel=1e-10)
    assert numbers["gradfit"] == pytest.approx((numbers["w"], numbers["b"]), rel=1e-9)


#: a particle or copula after a number, symbol or closing bracket, with a space before it ("1 입니다")
SPACED_PARTICLE = re.compile(r"[0-9A-Za-z)\]}²]\s+(?:이|가|을|를|은|는|의|에|에서|까지|으로|로|이므로|이고|입니다|이면)(?![가-힣])")


def test_korean_narration_reads_naturally(runs):
    for name in LESSONS:
        for line in runs[name, "ko"].lines("say"):
            assert not SPACED_PARTICLE.search(line), line
            assert not re.search(r"-?\d+\.\d+ ?[가이]\b", line), line  # "-0.40 가": a particle on a number
    scratch = "\n".join(runs["from-scratch", "ko"].lines("say"))
    assert "그래디언트는 2v" in scratch and "그래디언트는 2·error·(x, 1)" in scratch  # the gradient
    assert re.search(r"gradfit: 기울기 -?\d+\.\d{6}, 절편", scratch)  # the slope of the line
    assert not re.search(r"gradfit: slope|intercept \d", scratch)  # no English left in Korean output
    zero = "\n".join(runs["zero-grad", "ko"].lines("say"))
    assert "w.grad를 0으로 만들지 않고 z = 2w를 여러 번 미분하면" in zero
    hypothesis = "\n".join(runs["hypothesis", "ko"].lines("say"))
    assert "-0.40배가 됩니다" in hypothesis and "H(x) = W·x입니다" in hypothesis


def test_korean_lessons_draw_korean_plots_without_missing_glyphs(monkeypatch, tmp_path):
    import warnings

    from gradfit.lessons import session as session_module
    from gradfit.views.plottext import hangul_font

    if hangul_font() is None:
        pytest.skip("no font with Hangul (install fonts-noto-cjk: make system-deps)")
    drawn = []
    real = session_module.save_figure
    monkeypatch.setattr(session_module, "save_figure",
                        lambda fig, path: drawn.append([ax.get_title() + ax.get_xlabel() for ax in
                                                        getattr(fig, "figure", fig).axes]) or real(fig, path))
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*missing from font")
        for name in ("hypothesis", "zero-grad", "neuron"):
            run_lesson(name, lang="ko", out_dir=tmp_path / name, stream=io.StringIO())
    assert drawn and all(any(re.search("[가-힣]", text) for text in texts) for texts in drawn), drawn


def test_korean_check_lines_are_translated(runs):
    for name in LESSONS:
        ko = runs[name, "ko"]
        for agreement, line in zip(ko.agreements, ko.lines("check")):
            assert agreement.what not in line and "차이" in line


def _fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def test_languages_have_the_same_keys_and_fields():
    texts = {lang: json.loads(resources.files("gradfit.lessons").joinpath(f"{lang}.json").read_text("utf-8"))
             for lang in ("en", "ko")}
    en, ko = texts["en"], texts["ko"]
    assert set(en) == set(ko) == {"common", *LESSONS}
    for section in en:
        keys = set(en[section]) - {"checks", "plot"}
        assert keys == set(ko[section]) - {"checks", "plot"}, section
        for key in keys:
            join = lambda v: "\n".join(v) if isinstance(v, list) else v
            assert _fields(join(en[section][key])) == _fields(join(ko[section][key])), (section, key)


def test_a_disagreement_raises_with_a_clear_line(tmp_path):
    stream = io.StringIO()
    session = Session("hypothesis", "en", tmp_path, stream)
    assert session.check("W", [1.0], [1.0 + 1e-13], 1e-12).ok
    with pytest.raises(LessonCheckError, match=r"lesson 'hypothesis': W differ by 0.2, more than the tolerance 1e-12"):
        session.check("W", [1.0, 2.0], [1.0, 2.5], 1e-12)
    assert stream.getvalue().splitlines()[-1] == "✗ W: differ by 2.00e-01, more than the tolerance 1e-12"


def test_difference_is_relative_for_large_numbers_and_absolute_near_zero():
    assert difference([1000.0], [1001.0]) == pytest.approx(1 / 1001)
    assert difference([1e-8], [3e-8]) == pytest.approx(2e-8)
    assert difference([[1.0, 2.0], (3.0,)], [1.0, 2.0, 3.0]) == 0.0
    assert difference([1.0], [1.0, 2.0]) == math.inf
    assert math.isnan(difference([math.nan], [1.0]))


def test_unknown_lesson_and_language_are_named():
    with pytest.raises(OptionError, match=r"there is no lesson 'gradient'; the lessons are \['hypothesis'"):
        run_lesson("gradient")
    with pytest.raises(OptionError, match=r"option lang='fr' is not one of \['en', 'ko'\]"):
        run_lesson("hypothesis", lang="fr")


def test_a_torch_lesson_without_torch_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setattr(lessons, "find_spec", lambda name: None)
    with pytest.raises(OptionError, match=r"lesson 'zero-grad' needs torch, which is not installed; "
                                          r"install it with: pip install 'gradfit\[torch\]'"):
        run_lesson("zero-grad", out_dir=tmp_path)


@pytest.fixture
def app():
    app = typer.Typer()

    @app.callback()
    def main():
        """gradfit (test app)"""

    cli_lesson.register(app)
    return app


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_cli_lists_the_lessons(app, lang):
    result = CliRunner().invoke(app, ["lesson", "--lang", lang])
    assert result.exit_code == 0
    for name in LESSONS:
        assert any(line.startswith(name) and describe(name, lang) in line for line in result.output.splitlines())


def test_cli_runs_a_lesson_in_korean(app, tmp_path):
    result = CliRunner().invoke(app, ["lesson", "hypothesis", "--lang", "ko", "--out-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "1강 · hypothesis" in result.output and "Epoch    1/10 W: 1.400, Cost: 0.746667" in result.output
    assert (tmp_path / "hypothesis-cost-curve.png").read_bytes()[:8] == PNG_MAGIC
    # the tutorial's 10 epochs stop short of the optimum on purpose: no English warning in a Korean lesson
    assert "warning" not in result.stderr and "optimum" not in result.output


@pytest.mark.parametrize("args, message", [
    (["lesson", "gradient"], "error: there is no lesson 'gradient'; the lessons are ['hypothesis', "),
    (["lesson", "hypothesis", "--lang", "fr"], "error: option lang='fr' is not one of ['en', 'ko']"),
    (["lesson", "--lang", "fr"], "error: option lang='fr' is not one of ['en', 'ko']"),
])
def test_cli_user_errors_exit_2_with_one_line(app, args, message, tmp_path):
    result = CliRunner().invoke(app, [*args, "--out-dir", str(tmp_path / "never")])
    assert result.exit_code == 2
    assert result.output.strip().startswith(message) and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "never").exists()


def test_cli_a_failed_check_exits_1(app, monkeypatch, tmp_path):
    def failing(name, lang, out_dir):
        raise LessonCheckError("lesson 'neuron': w and b differ by 0.5, more than the tolerance 1e-09")

    monkeypatch.setattr(cli_lesson, "run_lesson", failing)
    result = CliRunner().invoke(app, ["lesson", "neuron", "--out-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output.strip() == "error: lesson 'neuron': w and b differ by 0.5, more than the tolerance 1e-09"
