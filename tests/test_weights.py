"""Sample weights: weighted least squares against statsmodels' WLS, integer weights against repeated rows,
every engine on the same weighted trajectory, the convention of per-sample and minibatch steps, the refusals,
model files and the command line.

Tolerances: the WLS summary 1e-8 relative (statsmodels' own figures); repetition 1e-10 relative (the same
arithmetic on other but equal sums, so only rounding differs); engines 1e-9 relative to each history
column's scale (float64), as tests/test_engine_grid.py.
"""

from __future__ import annotations

import json
import re
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from sklearn.metrics import r2_score

from gradfit import GDRegressor, load_model
from gradfit.errors import DataError, OptionError
from gradfit.training.config import FitConfig
from gradfit.training.solver import fit

from .helpers import assert_same_history, gradfit, uncentered_data


def weighted_data(n=40, d=3, seed=0, zeros=True):
    """uncentered data, integer weights 0..3 (some 0 when ``zeros``)"""
    X, y = uncentered_data(n=n, d=d, seed=seed, noise=0.5)
    w = np.random.default_rng(seed + 1).integers(0 if zeros else 1, 4, size=n).astype(float)
    if zeros:
        w[0] = 0.0
    return X, y, w


def repeated(X, y, w):
    rows = np.repeat(np.arange(len(y)), w.astype(int))
    return X[rows], y[rows]


# ---------------------------------------------------------------- statsmodels WLS


def wls(X, y, w, fit_intercept, cov_type="nonrobust"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # log(0) of a zero weight in the likelihood
        return sm.WLS(y, sm.add_constant(X) if fit_intercept else X, weights=w).fit(cov_type=cov_type)


def assert_summary_is_wls(s, ref, rtol=1e-8):
    rows = s.coefficients
    np.testing.assert_allclose([c.coef for c in rows], ref.params, rtol=rtol)
    np.testing.assert_allclose([c.std_err for c in rows], ref.bse, rtol=rtol)
    np.testing.assert_allclose([c.statistic for c in rows], ref.tvalues, rtol=rtol)
    np.testing.assert_allclose([c.p_value for c in rows], ref.pvalues, rtol=rtol, atol=1e-300)
    for name in ("rsquared", "rsquared_adj", "fvalue", "f_pvalue", "llf", "aic", "bic", "ssr"):
        assert getattr(s, name) == pytest.approx(float(getattr(ref, name)), rel=rtol), name
    assert s.nobs == ref.nobs and s.df_resid == ref.df_resid and s.df_model == ref.df_model
    assert s.resid_std_err == pytest.approx(np.sqrt(ref.scale), rel=rtol)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_summary_is_statsmodels_wls(fit_intercept):
    X, y, _ = weighted_data()
    w = np.random.default_rng(5).uniform(0.2, 3.0, size=len(y))
    model = GDRegressor(fit_intercept=fit_intercept, seed=0).fit(X, y, sample_weight=w)
    assert model.converged_ and model.weighted_
    assert_summary_is_wls(model.summary(at="exact"), wls(X, y, w, fit_intercept))
    assert "Weighted least squares" in model.summary().notes[0]


@pytest.mark.parametrize("cov_type", ["HC0", "HC1", "HC2", "HC3"])
def test_robust_covariances_are_statsmodels_wls(cov_type):
    X, y, _ = weighted_data()
    w = np.random.default_rng(6).uniform(0.2, 3.0, size=len(y))
    model = GDRegressor(seed=0).fit(X, y, sample_weight=w)
    ref = wls(X, y, w, True, cov_type)  # statsmodels' default for robust covariances: z tests
    s = model.summary(X, y, cov_type=cov_type, at="exact", sample_weight=w)
    np.testing.assert_allclose([c.std_err for c in s.coefficients], ref.bse, rtol=1e-8)
    np.testing.assert_allclose([c.p_value for c in s.coefficients], ref.pvalues, rtol=1e-8)


def test_robust_covariances_of_a_weighted_fit_need_its_weights():
    X, y, w = weighted_data()
    model = GDRegressor(seed=0).fit(X, y, sample_weight=w)
    with pytest.raises(OptionError, match="cov_type='HC1' of a weighted fit needs its sample_weight"):
        model.summary(X, y, cov_type="HC1")
    unweighted = GDRegressor(seed=0).fit(X, y)
    with pytest.raises(OptionError, match="this fit was not weighted"):
        unweighted.summary(X, y, cov_type="HC1", sample_weight=w)


@pytest.mark.filterwarnings("ignore:divide by zero encountered in log:RuntimeWarning")  # statsmodels' log(0)
def test_zero_weights_give_statsmodels_figures_and_its_infinite_likelihood():
    X, y, w = weighted_data()
    model = GDRegressor(seed=0).fit(X, y, sample_weight=w)
    s, ref = model.summary(at="exact"), wls(X, y, w, True)
    np.testing.assert_allclose([c.coef for c in s.coefficients], ref.params, rtol=1e-8)
    np.testing.assert_allclose([c.std_err for c in s.coefficients], ref.bse, rtol=1e-8)
    assert s.rsquared == pytest.approx(ref.rsquared, rel=1e-8)
    assert s.llf == ref.llf == -np.inf  # statsmodels adds ½·Σ log w, and log 0 = −inf


# ---------------------------------------------------------------- integer weights = repeated rows


@pytest.mark.parametrize("engine", ["python", "numpy", "torch"])
def test_integer_weights_fit_as_repeated_rows(engine):
    X, y, w = weighted_data()
    settings = dict(engine=engine, seed=0, epochs=300, tol=None)
    weighted = GDRegressor(**settings).fit(X, y, sample_weight=w)
    rep = GDRegressor(**settings).fit(*repeated(X, y, w))
    assert weighted.lr_ == pytest.approx(rep.lr_, rel=1e-10)
    assert_same_history(rep.history_, weighted.history_, rtol=1e-10)
    np.testing.assert_allclose(weighted.exact_.coef, rep.exact_.coef, rtol=1e-10)
    assert weighted.exact_.intercept == pytest.approx(rep.exact_.intercept, rel=1e-10)
    np.testing.assert_allclose(weighted.preprocessor_.x_shift, rep.preprocessor_.x_shift, rtol=1e-10)
    np.testing.assert_allclose(weighted.preprocessor_.x_scale, rep.preprocessor_.x_scale, rtol=1e-10)


@pytest.mark.parametrize("settings", [
    dict(alpha=0.3, l1_ratio=0.0), dict(alpha=0.05, l1_ratio=1.0), dict(fit_intercept=False),
    dict(loss="half_mse", preprocess="none"),
])
def test_integer_weights_give_the_exact_answer_of_repeated_rows(settings):
    X, y, w = weighted_data()
    a = fit(X, y, FitConfig(seed=0, epochs=1, **settings), sample_weight=w, warn=False)
    b = fit(*repeated(X, y, w), FitConfig(seed=0, epochs=1, **settings), warn=False)
    np.testing.assert_allclose(a.exact.coef, b.exact.coef, rtol=1e-10)
    assert a.exact.intercept == pytest.approx(b.exact.intercept, rel=1e-10, abs=1e-12)
    assert a.exact.objective == pytest.approx(b.exact.objective, rel=1e-10)


def test_the_refined_exact_answer_of_an_ill_conditioned_design_is_that_of_repeated_rows():
    """the QR path (Cholesky cannot promise the digits): the weighted refinement reaches the same answer"""
    rng = np.random.default_rng(3)
    t = rng.uniform(0, 1, size=30)
    X = np.column_stack([t, t + 1e-7 * rng.normal(size=30), rng.normal(size=30)])
    y = X @ [1.0, 2.0, 3.0] + 0.01 * rng.normal(size=30)
    w = rng.integers(1, 4, size=30).astype(float)
    a = fit(X, y, FitConfig(seed=0, epochs=1), sample_weight=w, warn=False)
    b = fit(*repeated(X, y, w), FitConfig(seed=0, epochs=1), warn=False)
    assert "refinement" in a.exact.method and "refinement" in b.exact.method
    np.testing.assert_allclose(a.exact.coef, b.exact.coef, rtol=1e-10)
    np.testing.assert_allclose(a.exact.coef, wls(X, y, w, True).params[1:], rtol=1e-6)


@pytest.mark.parametrize("loss", [dict(loss="huber", epsilon=1.0), dict(loss="quantile", quantile=0.3),
                                  dict(loss="epsilon_insensitive", epsilon=0.3)])
def test_robust_exact_answers_weigh_rows_as_repetition(loss):
    X, y, w = weighted_data(zeros=False)
    a = fit(X, y, FitConfig(seed=0, epochs=1, **loss), sample_weight=w, warn=False)
    b = fit(*repeated(X, y, w), FitConfig(seed=0, epochs=1, **loss), warn=False)
    assert a.exact.objective == pytest.approx(b.exact.objective, rel=1e-10)
    np.testing.assert_allclose(a.exact.coef, b.exact.coef, rtol=1e-7)  # an LP vertex: to its polish's digits


def test_partial_fit_with_integer_weights_is_partial_fit_on_repeated_rows():
    X, y, w = weighted_data()
    a, b = GDRegressor(seed=0, lr=0.01), GDRegressor(seed=0, lr=0.01)
    for _ in range(3):
        a.partial_fit(X, y, sample_weight=w)
        b.partial_fit(*repeated(X, y, w))
    assert_same_history(b.history_, a.history_, rtol=1e-10)


def test_resume_continues_a_weighted_fit_only_with_weights(tmp_path):
    X, y, w = weighted_data()
    settings = dict(seed=0, lr=0.01, epochs=6, tol=None, batch_size=5)
    whole = GDRegressor(**settings).fit(X, y, sample_weight=w)
    stopped = GDRegressor(**{**settings, "epochs": 3}).fit(X, y, sample_weight=w)
    stopped.save(tmp_path / "m.json")
    model = load_model(tmp_path / "m.json")
    model.set_params(epochs=6)
    with pytest.raises(OptionError, match="^resume: this fit was weighted; pass its sample_weight"):
        model.resume(X, y)
    assert_same_history(whole.history_, model.resume(X, y, sample_weight=w).history_, rtol=1e-12)
    with pytest.raises(OptionError, match="^resume: this fit was not weighted"):
        GDRegressor(**{**settings, "epochs": 3}).fit(X, y).set_params(epochs=6).resume(X, y, sample_weight=w)


def test_equal_weights_change_nothing_and_zero_weights_drop_rows():
    X, y, w = weighted_data()
    settings = dict(seed=0, epochs=50, tol=None, batch_size=7)
    plain = GDRegressor(**settings).fit(X, y)
    assert_same_history(plain.history_, GDRegressor(**settings).fit(X, y, sample_weight=2.5).history_, rtol=1e-12)
    keep = w > 0
    full = GDRegressor(seed=0, epochs=200, tol=None)
    a = full.fit(X, y, sample_weight=keep.astype(float))
    b = GDRegressor(seed=0, epochs=200, tol=None).fit(X[keep], y[keep])
    np.testing.assert_allclose(a.exact_.coef, b.exact_.coef, rtol=1e-10)
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-9)


def test_preprocessing_uses_weighted_means_and_scales():
    X, y, w = weighted_data()
    prep = GDRegressor(seed=0, epochs=1).fit(X, y, sample_weight=w).preprocessor_
    mean = np.average(X, axis=0, weights=w)
    np.testing.assert_allclose(prep.x_shift, mean, rtol=1e-12)
    np.testing.assert_allclose(prep.x_scale, np.sqrt(np.average((X - mean) ** 2, axis=0, weights=w)), rtol=1e-12)
    assert prep.y_shift == pytest.approx(np.average(y, weights=w), rel=1e-12)


def test_sklearn_sample_weight_equivalence_check():
    import sklearn.utils.estimator_checks as checks

    check = (getattr(checks, "check_sample_weight_equivalence_on_dense_data", None)
             or getattr(checks, "check_sample_weight_equivalence", None))
    if check is None:
        pytest.skip("this scikit-learn has no check_sample_weight_equivalence")
    check("GDRegressor", GDRegressor())


# ---------------------------------------------------------------- the convention of stochastic steps


def manual_sgd(X, y, w, lr, batch_size):
    """one unshuffled epoch of plain SGD on raw data (no preprocessing), the documented convention:
    a batch B steps along Σ_{i∈B} w̃ᵢ·∇(r²)ᵢ / |B| with w̃ = w·n/Σw"""
    wt = w * len(w) / w.sum()
    theta = np.zeros(X.shape[1] + 1)
    Z = np.column_stack([X, np.ones(len(y))])
    for start in range(0, len(y), batch_size):
        rows = slice(start, start + batch_size)
        r = Z[rows] @ theta - y[rows]
        theta = theta - lr * (Z[rows].T @ (2.0 * wt[rows] * r)) / len(r)
    return theta


@pytest.mark.parametrize("engine", ["python", "numpy", "torch"])
@pytest.mark.parametrize("batch_size", [1, 7])
def test_stochastic_steps_weigh_each_rows_gradient(engine, batch_size):
    X, y, w = weighted_data()
    model = GDRegressor(engine=engine, lr=0.002, momentum=0.0, batch_size=batch_size, shuffle=False,
                        preprocess="none", epochs=1, tol=None).fit(X, y, sample_weight=w)
    theta = manual_sgd(X, y, w, 0.002, batch_size)
    np.testing.assert_allclose(np.r_[model.coef_, model.intercept_], theta, rtol=1e-10)


# ---------------------------------------------------------------- every engine agrees


ENGINE_SETTINGS = {
    "full": dict(lr=0.02),
    "full-gram": dict(lr=0.02, gram=True),
    "per-sample": dict(lr=0.005, batch_size=1),
    "minibatch-adam": dict(optimizer="adam", lr=0.05, batch_size=7),
    "minibatch-momentum-l1": dict(lr=0.01, momentum=0.9, batch_size=6, alpha=0.05, l1_ratio=0.5),
    "huber-minibatch": dict(loss="huber", epsilon=1.0, lr=0.02, batch_size=5),
}


@pytest.mark.parametrize("case", ENGINE_SETTINGS)
def test_engines_walk_the_same_weighted_trajectory(case):
    X, y, w = weighted_data()
    settings = dict(seed=3, epochs=6, tol=None, **ENGINE_SETTINGS[case])
    gram = settings.pop("gram", False)
    reference = fit(X, y, FitConfig(engine="python", **settings), sample_weight=w, warn=False)
    for engine, options in [("numpy", {}), ("numpy", {"kernels": "off"}), ("torch", {})]:
        other = fit(X, y, FitConfig(engine=engine, engine_options=options, gram=gram or "auto", **settings),
                    sample_weight=w, warn=False)
        assert_same_history(reference.history, other.history)
    unweighted = fit(X, y, FitConfig(engine="numpy", **settings), warn=False)
    assert not np.allclose(unweighted.history.loss, reference.history.loss, rtol=1e-6)


def test_the_torch_engine_streams_weighted_blocks_alike():
    X, y, w = weighted_data()
    settings = dict(seed=0, epochs=4, tol=None, lr=0.02, gram=False)
    resident = fit(X, y, FitConfig(engine="torch", **settings), sample_weight=w, warn=False)
    streamed = fit(X, y, FitConfig(engine="torch", engine_options={"stream": True, "chunk_rows": 7}, **settings),
                   sample_weight=w, warn=False)
    assert_same_history(resident.history, streamed.history)
    np.testing.assert_allclose(streamed.stats.xtx, resident.stats.xtx, rtol=1e-12)


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0")
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


@pytest.mark.parametrize("extra", [
    dict(lr=0.02), dict(lr=0.02, gram=False), dict(lr=0.01, batch_size=3),
    dict(lr=0.01, batch_size=4, engine_options={"order": "partition", "persist": False}),
])
def test_the_dask_engine_walks_the_numpy_engines_weighted_trajectory(dask_client, extra):
    import dask.array as da

    X, y, w = weighted_data()
    extra = dict(extra)
    options = extra.pop("engine_options", {})
    settings = dict(seed=3, epochs=4, tol=None, shuffle="order" not in options, **extra)
    reference = fit(X, y, FitConfig(engine="numpy", **settings), sample_weight=w, warn=False)
    other = fit(da.from_array(X, chunks=(13, -1)), da.from_array(y, chunks=13),
                FitConfig(engine="dask", engine_options=options, **settings), sample_weight=w, warn=False)
    assert_same_history(reference.history, other.history)
    np.testing.assert_allclose(other.exact.coef, reference.exact.coef, rtol=1e-10)


# ---------------------------------------------------------------- refusals: one line naming the problem


@pytest.mark.parametrize("weights, message", [
    (-1.0, r"sample_weight\[0\] is -1: weights must be >= 0"),
    (np.nan, r"sample_weight\[0\] is nan: weights must be finite numbers"),
    (np.inf, r"sample_weight\[0\] is inf: weights must be finite numbers"),
    (0.0, r"sample_weight is all zeros: at least one row needs a positive weight"),
    ("huge", r"sample_weight sums to more than a float64 holds: scale the weights down \(only their ratios matter\)"),
    ("short", r"sample_weight has 3 values but X has 40 rows"),
    ("table", r"sample_weight must be one number per row; got an array of shape \(40, 2\)"),
    ("text", r"sample_weight must be numbers, one per row"),
])
def test_unusable_weights_are_refused_with_one_line(weights, message):
    X, y, w = weighted_data()
    given = {"short": [1.0, 2.0, 3.0], "table": np.ones((40, 2)), "text": ["a"] * 40,
             "huge": np.full(40, 1e308)}.get(weights, None)
    if given is None:
        given = np.ones(40) if weights != 0.0 else np.zeros(40)
        given[0] = weights
    for call in (lambda: GDRegressor().fit(X, y, sample_weight=given),
                 lambda: GDRegressor().partial_fit(X, y, sample_weight=given),
                 lambda: fit(X, y, FitConfig(), sample_weight=given),
                 lambda: GDRegressor(epochs=2).fit(X, y).score(X, y, sample_weight=given)):
        with pytest.raises(DataError, match=f"^{message}$"):
            call()


def test_score_weighs_rows_as_r2_score():
    X, y, w = weighted_data()
    model = GDRegressor(seed=0).fit(X, y, sample_weight=w)
    assert model.score(X, y, sample_weight=w) == pytest.approx(r2_score(y, model.predict(X), sample_weight=w))
    assert model.score(X, y) == pytest.approx(r2_score(y, model.predict(X)))


# ---------------------------------------------------------------- model files and the command line


def test_model_files_record_a_weighted_fit_but_not_the_weights(tmp_path):
    X, y, w = weighted_data()
    model = GDRegressor(seed=0).fit(X, y, sample_weight=w)
    path = tmp_path / "m.json"
    model.save(path)
    doc = json.loads(path.read_text())
    assert doc["weighted"] is True and set(doc["gram_stats"]["weights"]) == {"total", "mean", "log_sum"}
    assert not any(isinstance(v, list) and len(v) == len(w) for v in doc["gram_stats"].values())
    loaded = load_model(path)
    assert loaded.weighted_ is True
    assert loaded.summary(at="exact").to_dict() == model.summary(at="exact").to_dict()
    GDRegressor(seed=0, epochs=2).fit(X, y).save(path)
    assert json.loads(path.read_text())["weighted"] is False and load_model(path).weighted_ is False


@pytest.fixture
def weighted_csv(tmp_path):
    X, y, w = weighted_data()
    path = tmp_path / "d.csv"
    pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "w": w, "y": y}).to_csv(path, index=False)
    return path


def test_cli_weights_column_fits_weighted_least_squares(weighted_csv, tmp_path):
    out = tmp_path / "m.json"
    result = gradfit("fit", weighted_csv, "-t", "y", "--weights", "w", "--seed", "0", "-o", out, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["weighted"] is True
    model = load_model(out)
    assert list(model.feature_names_in_) == ["a", "b", "c"] and model.weighted_
    X, y, w = weighted_data()
    np.testing.assert_allclose(model.exact_.coef, wls(X, y, w, True).params[1:], rtol=1e-10)
    shown = gradfit("fit", weighted_csv, "-t", "y", "--weights", "w", "--seed", "0", "-o", out)
    assert shown.exit_code == 0 and "rows weighted by 'w'" in shown.stdout
    excluded = gradfit("fit", weighted_csv, "-t", "y", "--weights", "w", "--exclude", "c", "-o", out, "--json")
    assert excluded.exit_code == 0 and list(json.loads(excluded.stdout)["coef"]) == ["a", "b"]


@pytest.mark.parametrize("args, message", [
    (["--weights", "nope"], r"data file .*d\.csv has no weights column 'nope' \(option --weights\); its columns are"),
    (["--weights", "y"], "option --weights names the target column 'y'"),
    (["--weights", "w", "--features", "a,w"], "option --features names the weights column 'w'"),
])
def test_cli_weights_errors_are_one_line_with_status_2(weighted_csv, tmp_path, args, message):
    result = gradfit("fit", weighted_csv, "-t", "y", "-o", tmp_path / "m.json", *args)
    assert result.exit_code == 2 and not (tmp_path / "m.json").exists()
    assert len(result.stderr.strip().splitlines()) == 1
    assert re.search(message, result.stderr), result.stderr


def test_cli_summary_takes_the_weights_column_for_robust_covariances(weighted_csv, tmp_path):
    out = tmp_path / "m.json"
    assert gradfit("fit", weighted_csv, "-t", "y", "--weights", "w", "--seed", "0", "-o", out).exit_code == 0
    result = gradfit("summary", out, "--data", weighted_csv, "-t", "y", "--weights", "w", "--cov-type", "HC1",
                     "--at", "exact", "--json")
    assert result.exit_code == 0, result.output
    X, y, w = weighted_data()
    ref = wls(X, y, w, True, "HC1")
    np.testing.assert_allclose([c["std_err"] for c in json.loads(result.stdout)["coefficients"]], ref.bse, rtol=1e-8)
    unweighted = gradfit("summary", out, "--data", weighted_csv, "-t", "y", "--cov-type", "HC1")
    assert unweighted.exit_code == 2
    assert "error: option cov_type='HC1' of a weighted fit needs its sample_weight (--weights" in unweighted.stderr
    no_data = gradfit("summary", out, "--weights", "w")
    assert no_data.exit_code == 2 and "option --weights needs --data" in no_data.stderr


def test_cli_names_the_row_of_a_negative_weight(weighted_csv, tmp_path):
    frame = pd.read_csv(weighted_csv)
    frame.loc[4, "w"] = -2.0
    frame.to_csv(weighted_csv, index=False)
    result = gradfit("fit", weighted_csv, "-t", "y", "--weights", "w", "-o", tmp_path / "m.json")
    assert result.exit_code == 2 and not (tmp_path / "m.json").exists()
    assert f"data file {weighted_csv}: weights column 'w' row 5 is -2: weights must be >= 0" in result.stderr
