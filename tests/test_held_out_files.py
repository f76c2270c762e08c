"""A fit with held-out rows, kept and shown: model files keep the held-out results and resume exactly (files
written before held-out data load as before), and the learning curve, the views and the report show the
validation loss and the parameters returned."""

from __future__ import annotations

import json

import numpy as np

from gradfit import GDRegressor, load_model
from gradfit.views.plotdata import view
from gradfit.views.plots import figure_bytes, learning_curve
from gradfit.views.report import write_report

from .helpers import OVERFIT_SETTINGS, assert_same_history, overfit_data, uncentered_data


def test_model_files_keep_the_held_out_results_and_resume_exactly(tmp_path):
    X, y = overfit_data()
    whole = GDRegressor(**OVERFIT_SETTINGS).fit(X, y)

    def stop_at_40(info):
        return info.epoch == 40

    part = GDRegressor(**OVERFIT_SETTINGS, callbacks=[stop_at_40]).fit(X, y)
    part.save(tmp_path / "part.json")
    loaded = load_model(tmp_path / "part.json")
    assert loaded.best_epoch_ == part.best_epoch_ and loaded.history_.val_loss == part.history_.val_loss
    np.testing.assert_array_equal(loaded.last_coef_, part.last_coef_)
    loaded.resume(X, y)
    assert loaded.n_iter_ == whole.n_iter_ and loaded.best_epoch_ == whole.best_epoch_
    assert_same_history(whole.history_, loaded.history_, rtol=1e-15,
                        fields=("loss", "coef", "intercept", "grad_norm", "lr", "val_loss"))
    np.testing.assert_array_equal(loaded.coef_, whole.coef_)
    loaded.save(tmp_path / "again.json")
    doc = json.loads((tmp_path / "again.json").read_text())
    assert doc["held_out"]["best"]["epoch"] == whole.best_epoch_ and len(doc["history"]["val_loss"]) == len(
        doc["history"]["loss"])


def test_a_model_file_without_held_out_data_loads_as_before(tmp_path):
    X, y = uncentered_data()
    GDRegressor(epochs=5).fit(X, y).save(tmp_path / "m.json")
    doc = json.loads((tmp_path / "m.json").read_text())
    assert "val_loss" not in doc["history"] and doc["held_out"] is None
    # a file written before held-out data existed: no held_out field, no early-stopping settings
    for key in ("held_out",):
        del doc[key]
    for key in ("early_stopping", "validation_fraction"):
        del doc["params"][key]
    for key in ("val_best", "val_no_improve"):
        del doc["descent"][key]
    (tmp_path / "old.json").write_text(json.dumps(doc))
    old = load_model(tmp_path / "old.json")
    assert old.best_epoch_ is None and old.history_.val_loss == [None] * len(old.history_)
    np.testing.assert_array_equal(old.last_coef_, old.coef_)
    assert "val_loss" not in old.history_.to_dataframe().columns
    old.resume(X, y)  # nothing to do, and nothing breaks



def test_the_learning_curve_draws_the_validation_loss_and_the_best_epoch(tmp_path):
    X, y = overfit_data()
    model = GDRegressor(**OVERFIT_SETTINGS).fit(X, y)
    ax = learning_curve(model, log=True)
    val = [line for line in ax.lines if line.get_gid() == "val_loss"]
    best = [line for line in ax.lines if line.get_gid() == "best_epoch"]
    assert len(val) == 1 and len(best) == 1
    np.testing.assert_allclose(val[0].get_ydata(), model.history_.val_loss)
    assert best[0].get_xdata()[0] == model.best_epoch_ and best[0].get_ydata()[0] == model.best_val_loss_
    labels = ax.get_legend_handles_labels()[1]
    assert any(label.endswith("(validation)") for label in labels)
    assert f"lowest validation loss (epoch {model.best_epoch_}, returned)" in labels
    png = figure_bytes(ax)
    (tmp_path / "learning-curve.png").write_bytes(png)
    assert png.startswith(b"\x89PNG")
    assert not [line for line in learning_curve(model, gap=True, log=True).lines if line.get_gid() == "val_loss"]



def test_the_views_and_the_report_show_the_returned_parameters(tmp_path):
    X, y = overfit_data()
    model = GDRegressor(**OVERFIT_SETTINGS).fit(X, y)
    model.save(tmp_path / "m.json")
    for fitted in (model, load_model(tmp_path / "m.json")):
        fv = view(fitted)
        np.testing.assert_array_equal(fv.coef, model.coef_)
        assert fv.intercept == model.intercept_ and fv.held_out.best.epoch == model.best_epoch_
    write_report(model, X, y, tmp_path / "r.html")
    html = (tmp_path / "r.html").read_text()
    assert f"early stopping returned epoch {model.best_epoch_}&#x27;s parameters on purpose" in html or \
        f"early stopping returned epoch {model.best_epoch_}'s parameters on purpose" in html
    assert "lowest validation loss" in html and "held-out rows" in html
