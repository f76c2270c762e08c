"""GDRegressor: gradfit's training loop behind scikit-learn's estimator interface."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from .descent.weights import check_weights
from .errors import DataError, OptionError
from .estimator_data import encoded, prediction_data, training_data
from .io import persist
from .training import solver
from .training.checkpoint import resumable_history, resume_point
from .training.config import FitConfig

__all__ = ["GDRegressor", "load_model"]


class GDRegressor(RegressorMixin, BaseEstimator):
    """Linear regression fitted by gradient descent, with the exact answer beside it.

    Fits ``H(x) = x·coef_ + intercept_`` by minimizing ``loss + ½·l2·‖coef‖² + l1·‖coef‖₁``
    (``l2 = alpha·(1 − l1_ratio)``, ``l1 = alpha·l1_ratio``, the L1 part as a proximal
    step) with full-batch, minibatch or per-sample descent, recording every step, and
    compares the result with the closed-form optimum of the same objective.

    Parameters
    ----------
    fit_intercept : bool, default=True
        Fit ``b``; False fits ``H(x) = x·W``.
    loss : {"mse", "half_mse", "huber", "epsilon_insensitive", "squared_epsilon_insensitive", "quantile"}, default="mse"
        The mean over rows of a loss of r = ŷ − y (``gradfit.descent.losses``): "mse" r² (PyTorch's
        convention); "half_mse" ½r² (scikit-learn's); "huber" ½r² for |r| ≤ epsilon and
        epsilon·|r| − ½epsilon² beyond (SGDRegressor's); "epsilon_insensitive" max(0, |r| − epsilon),
        "squared_epsilon_insensitive" its square (both SGDRegressor's);
        "quantile" the pinball loss of level ``quantile`` (QuantileRegressor's). Each has an exact
        answer (``gradfit.optimum.robust`` for the robust ones; with a penalty: the smooth ones with L2 only, the
        others with L1 only). Inference statistics (``summary``) are for the squared losses.
    epsilon : float > 0, default=0.1
        The width of Huber's quadratic zone and of epsilon_insensitive's dead zone.
    quantile : float in (0, 1), default=0.5
        The level of the quantile loss (0.5: median regression).
    alpha : float, default=0.0
        Strength of the penalty.
    l1_ratio : float in [0, 1], default=0.0
        Share of the penalty that is L1 (0: ridge, 1: lasso, between: elastic net).
    optimizer : {"sgd", "adam", "adamw", "radam", "adagrad", "rmsprop"}, default="sgd"
        Update rule, with the formulas of ``torch.optim``.
    lr : float > 0 or "auto", default="auto"
        Learning rate; "auto" picks one for the data from the exact curvature of the loss
        and records it in ``lr_``: full-batch SGD gets Polyak's heavy ball tuned to the
        Hessian's extreme eigenvalues (with momentum="auto"), minibatches the safe step 1/L_b
        (times 1 − β with a given momentum β) with a cosine schedule to 0, other optimizers
        about 1% of the solution's size. A fixed number such as the tutorials' 0.01 diverges on
        data whose features are large (the message suggests a stable value).
    momentum : float in [0, 1) or "auto", default="auto"
        SGD momentum. "auto" is the heavy ball's momentum with lr="auto" and full batches
        (without early_stopping, whose held-out rule wants a training loss that falls every epoch),
        and 0 otherwise (plain gradient descent for a given lr); the value used is ``momentum_``.
    nesterov : bool, default=False
        Nesterov momentum (needs momentum > 0).
    betas : (float, float), default=(0.9, 0.999)
        Adam's decay rates of the first and second moment estimates.
    eps : float, default=1e-8
        Term added to the denominators of Adam, Adagrad and RMSprop.
    rho : float in [0, 1), default=0.99
        RMSprop's decay rate (torch's ``alpha``).
    weight_decay : float >= 0, default=0.01
        AdamW's decoupled weight decay λ (torch.optim.AdamW's formula: every step first
        multiplies the parameters by 1 − lr·λ). It decays every parameter, the intercept
        included, as torch.optim.AdamW does with the parameters it is given; it acts in the
        descent's (preprocessed) units, and it is not part of the objective, so a fit with
        λ > 0 stops short of the exact answer (use ``alpha`` for a penalty that is). Only
        optimizer="adamw" reads it.
    average : bool or int >= 0, default=False
        Keep the Polyak–Ruppert average of the iterates (as SGDRegressor's ``average`` and
        torch's ASGD): True averages every iterate, an integer k those after step k. The
        averaged parameters are what the fit reports: ``coef_``, ``intercept_``, the history
        (its coefficients, loss and gradient norm are at the average) and the gap.
    schedule : {"auto", "constant", "step", "exponential", "invscaling", "cosine"}, default="auto"
        Learning-rate schedule, stepped once per epoch. "auto" is "cosine" (down to 0 at the
        last epoch) for lr="auto" with minibatches or an adaptive optimizer, and "constant"
        otherwise; the schedule used is ``schedule_``.
    schedule_options : dict, optional
        Settings of the schedule (see ``gradfit.descent.schedules.DEFAULTS``), e.g. ``{"gamma": 0.9}``.
    epochs : int or "auto", default="auto"
        The most passes over the data; the fit stops earlier once it is within ``tol`` of
        the optimum. "auto": for full-batch SGD, three times what the exact curvature says
        the descent needs to reach ``tol`` (at least 1000, at most 100,000); 100 for
        minibatches; 1000 otherwise.
    batch_size : int, optional
        None: full batch; 1: per sample; k: minibatches of k rows (the last may be shorter).
    shuffle : bool, default=True
        Shuffle the rows each epoch (seeded by ``seed``) for minibatch and per-sample descent.
    preprocess : {"auto", "none", "center", "standardize"}, default="auto"
        Preprocessing inside the descent; ``coef_`` and ``intercept_`` are always in the
        units of the data given. "standardize" maps every column to mean 0 and standard
        deviation 1 (without an intercept it only divides by the root mean square: centering
        would fit a hidden intercept, so "center" needs fit_intercept=True). "auto" standardizes
        every column that can be (constant columns stay as they are). "none" runs on the raw
        data, as the tutorials do.
    init : "zeros", "random", float or (coef, intercept), default="zeros"
        Starting parameters ("random": uniform in [-1, 1], seeded).
    tol : float in [0, 1) or None, default=1e-6
        The fit is at the optimum when its relative distance from the exact answer
        (``gap_.distance``: of the parameters, or of the fitted values when the optimum is not
        unique) is at most ``tol``; it stops there. A fit that ends farther away warns with
        ``NotAtOptimumWarning`` (a ``ConvergenceWarning``) saying why and what would fix it.
        None runs every epoch (the tutorials' loops) and judges the end against 1e-6. Without
        an exact answer (too many features for Gram statistics) the fit stops once the
        objective has not improved by ``tol`` (relative) for ``n_iter_no_change`` epochs.
    n_iter_no_change : int, default=5
        Epochs without improvement (by ``tol``, relative) before stopping: of the validation loss
        with ``early_stopping``, else of the objective when there is no exact answer.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows (a seeded split; or the ``validation_data``
        given to ``fit``), measure their loss after every epoch, stop once it has not improved for
        ``n_iter_no_change`` epochs, and return the parameters of the epoch where it was lowest
        (``best_epoch_``; the last ones stay in ``last_coef_`` and ``last_intercept_``). The fit still
        stops at the training optimum, and ``verdict_`` still measures the training objective: a fit
        that early stopping kept short of it has reason "early-stopped" (and no warning).
        As scikit-learn's SGDRegressor; ``partial_fit`` holds nothing out.
    validation_fraction : float in (0, 1), default=0.1
        The share of the rows held out with ``early_stopping`` (ceil(fraction·n) rows, drawn with
        ``seed``; the same seed holds out the same rows).
    engine : {"python", "numpy", "torch", "dask"}, default="numpy"
        Where the numbers live. With "dask", X and y are lazy Dask collections and are
        passed on as they are.
    optimizer_backend : {"gradfit", "torch"}, default="gradfit"
        "torch" uses ``torch.optim`` itself (with engine="torch").
    engine_options : dict, optional
        Extra settings for the engine, e.g. ``{"scheduler": "tcp://host:8786"}`` for Dask.
    device : str, default="cpu"
        Device of the torch engine ("cpu", "cuda", ...).
    dtype : {"float64", "float32"}, default="float64"
        Floating-point type of the descent.
    seed : int, optional
        Seed of the shuffles and of init="random"; the seed used is kept in ``seed_``.
    record_every : int or "step", default=1
        Record the history every k epochs, or after every step. An epoch not recorded skips the
        full-data objective where nothing else reads it (a stopping rule without an exact answer,
        callbacks, held-out rows): where that objective is a pass over the data (sparse or wide
        data, a robust loss), k = 5 saves four passes in five; the divergence guard then looks at
        the parameters after every epoch and at the objective when it is measured.
    gram : "auto", True or False, default="auto"
        Compute full-batch losses and gradients from Gram statistics (O(d²) per epoch).
    warm_start : bool, default=False
        ``fit`` continues the previous descent (also one read with ``load_model``) for
        ``epochs`` more epochs: optimizer state, epoch count, shuffles and history go on.
    callbacks : list of callables, optional
        Called after every epoch with a ``gradfit.training.train.EpochInfo`` (epoch, step, loss, lr,
        epochs_total, and the history so far); a callback that returns True stops the fit.
        Built in: ``gradfit.training.callbacks.CSVLogger(path)`` appends each recorded entry to a CSV
        file as it happens; ``TensorBoardWriter(logdir)`` writes them as TensorBoard scalars (loss,
        validation loss, gradient norm, lr, each coefficient; needs ``gradfit[tensorboard]``).
    verbose : bool, default=False
        Show a progress bar while fitting.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
        Coefficients, in the units of X.
    intercept_ : float
        Intercept (0.0 when fit_intercept=False).
    n_iter_ : int
        Epochs run (counting earlier ``partial_fit`` calls).
    t_ : int
        Optimizer steps taken.
    history_ : gradfit.History
        Every recorded step: epoch, step, loss, coef, intercept, gradient norm, lr, time.
    n_features_in_ : int
        Number of features seen in fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when X was a DataFrame.
    lr_ : float
        Learning rate used (the one chosen when lr="auto").
    seed_ : int
        Seed used (drawn when seed=None).
    converged_ : bool
        Whether the fit ended at the optimum, to ``tol`` (1e-6 when tol is None).
    verdict_ : gradfit.training.verdict.Verdict
        Where the fit ended and, when not at the optimum, why (``reason``) and what would
        fix it (``remedy``, ``epochs_needed``).
    momentum_ : float
        Momentum used (the one chosen when momentum="auto").
    schedule_ : str
        Schedule used (the one chosen when schedule="auto").
    exact_ : gradfit.optimum.exact.ExactSolution or None
        Closed-form optimum of the same objective (coef, intercept, objective, method).
    gap_ : gradfit.optimum.exact.Gap or None
        Relative parameter distance, relative fitted-value distance and objective difference
        between the fit and ``exact_``; ``gap_.distance`` is the one that decides convergence.
    gram_stats_ : gradfit.optimum.gram.GramStats or None
        Centered Gram statistics of the training data (n, means, XᵀX, Xᵀy, yᵀy); with held-out
        rows, of the rows trained on.
    best_epoch_ : int or None
        With held-out data, the epoch whose parameters had the lowest validation loss (with
        ``early_stopping``, the parameters ``coef_`` and ``intercept_`` are); None without.
    best_val_loss_ : float or None
        The validation loss at ``best_epoch_``; the whole curve is ``history_.val_loss``.
    held_out_ : gradfit.training.validation.HeldOutResult or None
        What the held-out rows decided: the best epoch (its validation loss, training objective and
        parameters), whether the fit returned it, the last parameters and the held-out row count.
    last_coef_, last_intercept_ : ndarray, float
        The parameters the descent ended at (equal to ``coef_``, ``intercept_`` unless early
        stopping returned an earlier epoch's).
    preprocessor_ : gradfit.descent.preprocess.Preprocessor
        Preprocessing the descent ran on (weighted means and scales in a weighted fit).
    weighted_ : bool
        Whether the last fit was given ``sample_weight`` (model files record it; not the weights).
    encoding_ : encoding or None
        How raw data become X when the model was fitted through one (``from_formula``, or
        ``gradfit fit --categorical``/``--formula``): ``predict`` then takes raw DataFrames.
    svmlight_zero_based_ : bool or None
        For a model fitted on an svmlight file (``gradfit fit data.svm``): whether its indices counted
        from 0 (features x0..) or from 1 (x1..); model files record it. None for other data.
    result_ : gradfit.FitResult or None
        Everything the last fit produced (None for a model read with ``load_model``).

    Examples
    --------
    >>> import numpy as np
    >>> from gradfit import GDRegressor
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> y = 2.0 * X[:, 0] + 1.0
    >>> model = GDRegressor().fit(X, y)
    >>> np.round(model.coef_, 4), round(model.intercept_, 4)
    (array([2.]), 1.0)
    >>> model.predict([[4.0]]).round(4)
    array([9.])
    >>> model.converged_, model.gap_.param_distance < 1e-6
    (True, True)
    """

    def __init__(
        self, *, fit_intercept=True, loss="mse", epsilon=0.1, quantile=0.5, alpha=0.0, l1_ratio=0.0,
        optimizer="sgd", lr="auto", momentum="auto", nesterov=False, betas=(0.9, 0.999), eps=1e-8, rho=0.99,
        weight_decay=0.01, average=False, schedule="auto",
        schedule_options=None, epochs="auto", batch_size=None, shuffle=True, preprocess="auto", init="zeros",
        tol=1e-6, n_iter_no_change=5, early_stopping=False, validation_fraction=0.1, engine="numpy", optimizer_backend="gradfit", engine_options=None,
        device="cpu", dtype="float64", seed=None, record_every=1, gram="auto", warm_start=False, callbacks=None,
        verbose=False,
    ):
        self.fit_intercept = fit_intercept
        self.loss = loss
        self.epsilon = epsilon
        self.quantile = quantile
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.optimizer = optimizer
        self.lr = lr
        self.momentum = momentum
        self.nesterov = nesterov
        self.betas = betas
        self.eps = eps
        self.rho = rho
        self.weight_decay = weight_decay
        self.average = average
        self.schedule = schedule
        self.schedule_options = schedule_options
        self.epochs = epochs
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.preprocess = preprocess
        self.init = init
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.engine = engine
        self.optimizer_backend = optimizer_backend
        self.engine_options = engine_options
        self.device = device
        self.dtype = dtype
        self.seed = seed
        self.record_every = record_every
        self.gram = gram
        self.warm_start = warm_start
        self.callbacks = callbacks
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = self.engine == "numpy"  # sparse X: the numpy engine's CSR kernels
        return tags

    def fit(self, X, y, sample_weight=None, *, feature_names=None, validation_data=None):
        """Fit by gradient descent from the start (or from the last fit with warm_start=True).

        Parameters
        ----------
        X : array-like, DataFrame or scipy.sparse matrix of shape (n_samples, n_features)
            Training data (a Dask array or DataFrame with engine="dask"). Sparse X (CSR; CSC is
            converted once to CSR, other formats by scikit-learn's check) is fitted by the numpy
            engine without densifying it, with or without ``sample_weight``
            (``gradfit.engines.numpy_sparse``); other engines refuse it.
        y : array-like of shape (n_samples,)
            Targets.
        sample_weight : array-like of shape (n_samples,) or float, optional
            Row weights >= 0 (not all 0). The objective is then Σ wᵢ·lossᵢ / Σ wᵢ (+ penalty), as
            in statsmodels' WLS and scikit-learn: integer weights fit as repeated rows would (the full
            batch and the exact answer exactly). A minibatch step's gradient is
            Σ_{i∈B} wᵢ·∇lossᵢ / (|B|·w̄), w̄ the mean weight, and a per-sample step is wᵢ/w̄ times the
            unweighted one (``gradfit.descent.weights``). ``summary()`` is then that of weighted least squares.
        feature_names : list of str, optional
            Names of X's columns when X has none: a Dask array (engine="dask") or a sparse matrix.
        validation_data : (X_val, y_val) or (X_val, y_val, sample_weight_val), optional
            Held-out rows, in place of the ``validation_fraction`` split: their loss is recorded
            beside the training objective after every epoch (``history_.val_loss``), and with
            ``early_stopping=True`` the fit stops on it and returns its best epoch.

        Returns
        -------
        self : GDRegressor
        """
        if self.warm_start and resume_point(self) is not None:
            return self._continue(X, y, self.epochs_budget_, feature_names, "warm_start=True", sample_weight,
                                  validation_data)
        X, y, names = training_data(self, X, y, reset=True, feature_names=feature_names)
        self.encoding_ = self.svmlight_zero_based_ = None
        return self._store(solver.fit(X, y, self._config(), feature_names=names, progress=bool(self.verbose),
                                      callbacks=self.callbacks or (),
                                      start=self._warm_start(X.shape[1]), sample_weight=sample_weight,
                                      validation_data=validation_data))

    def resume(self, X, y, sample_weight=None, *, feature_names=None, validation_data=None):
        """Continue an interrupted fit to ``epochs`` epochs in all, exactly as if it had never stopped.

        The model may come from ``load_model``: its file keeps the descent's position
        (optimizer state, epoch, step, seed, lr, preprocessing, history, early stopping's
        count). Give the same training data (and the same ``sample_weight`` and ``validation_data``,
        if the fit had them).

        Returns
        -------
        self : GDRegressor
        """
        if resume_point(self) is None:
            raise OptionError("nothing to resume: this model has no kept descent state "
                              "(fit it first; files written by gradfit 0.1 or with the torch.optim backend lack it)")
        if bool(getattr(self, "weighted_", False)) != (sample_weight is not None):
            raise OptionError("resume: this fit was weighted; pass its sample_weight (--weights) to continue it"
                              if sample_weight is None else
                              "resume: this fit was not weighted; continue it without sample_weight (--weights)")
        return self._continue(X, y, max(self.epochs_budget_ - self.n_iter_, 0), feature_names, "resume",
                              sample_weight, validation_data)

    @property
    def epochs_budget_(self) -> int:
        """the epochs a fit is given: ``epochs``, or what epochs='auto' chose for the data"""
        if self.epochs != "auto":
            return int(self.epochs)
        steps = getattr(resume_point(self), "steps", None)
        return int(steps.epochs) if steps is not None else self.n_iter_

    def _continue(self, X, y, epochs: int, feature_names, how: str, sample_weight=None, validation_data=None):
        """``epochs`` more epochs of the kept descent (optimizer state, clock, shuffles and history go on)"""
        start = resume_point(self)
        shape = getattr(X, "shape", None)
        n = int(shape[1]) if shape is not None and len(shape) == 2 else None
        if n is not None and n != self.n_features_in_:
            raise DataError(f"{how}: X has {n} features but the previous fit had {self.n_features_in_}")
        X, y, names = training_data(self, X, y, reset=False, feature_names=feature_names)
        start = replace(start, history=resumable_history(start.history, self.record_every))
        result = solver.fit(X, y, self._config(), feature_names=names, resume=start, epochs=epochs,
                            callbacks=self.callbacks or (), progress=bool(self.verbose),
                            sample_weight=sample_weight, validation_data=validation_data)
        return self._store(result)

    def partial_fit(self, X, y, sample_weight=None):
        """One more epoch on (X, y), continuing the optimizer state of the previous fit.

        The first call starts a fit (from the last ``coef_`` with warm_start=True). Nothing is held
        out (``early_stopping`` applies to ``fit``), as in scikit-learn.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,) or float, optional
            Row weights, as in ``fit`` (scaled to mean 1 within this call's rows).

        Returns
        -------
        self : GDRegressor
        """
        previous = resume_point(self)
        X, y, names = training_data(self, X, y, reset=previous is None)
        start = self._warm_start(X.shape[1]) if previous is None else None
        result = solver.fit(X, y, replace(self._config(), early_stopping=False), feature_names=names,
                            resume=previous, epochs=1,
                            callbacks=self.callbacks or (),
                            progress=bool(self.verbose), warn=False, start=start, sample_weight=sample_weight)
        return self._store(result)

    def predict(self, X):
        """Predictions ``X·coef_ + intercept_``.

        Parameters
        ----------
        X : array-like, DataFrame or scipy.sparse matrix of shape (n_samples, n_features)
            (a Dask collection gives a lazy Dask result; sparse X is multiplied as it is)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        if hasattr(X, "__dask_graph__"):
            return getattr(X, "values", X) @ self.coef_ + self.intercept_
        X = prediction_data(self, X)
        return np.asarray(X @ self.coef_ + self.intercept_).reshape(-1)

    @classmethod
    def from_formula(cls, formula: str, data, **settings) -> "GDRegressor":
        """Fit ``formula`` on ``data``, as statsmodels' ``ols(formula, data).fit()`` does, by gradient descent.

        The design matrix is formulaic's ``model_matrix(formula, data)``: its column names are the
        model's feature names (``C(region)[T.north]``), and its intercept is ``fit_intercept``
        (``y ~ x - 1`` or ``y ~ 0 + x`` fits without one). The model keeps the encoding (the
        formula, the levels of each categorical term, the state of ``center``/``scale``/splines),
        so ``predict`` takes raw data with the formula's columns, also after ``save`` and
        ``load_model``. Needs formulaic (``pip install gradfit[formula]``).

        Parameters
        ----------
        formula : str
            ``"y ~ x1 + np.log(x2) + C(region)"``: one target on the left; on the right columns,
            formulaic's operators and transforms, and NumPy's elementwise functions as ``np.NAME``.
        data : DataFrame
            Raw data holding the columns the formula names.
        **settings
            GDRegressor's parameters (``fit_intercept`` comes from the formula).

        Returns
        -------
        GDRegressor
            Fitted.

        Examples
        --------
        >>> import pandas as pd
        >>> data = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "g": ["a", "b", "a", "b"],
        ...                      "y": [1.0, 4.0, 5.0, 8.0]})
        >>> model = GDRegressor.from_formula("y ~ x + C(g)", data)
        >>> list(model.feature_names_in_), model.coef_.round(4).tolist(), round(model.intercept_, 4)
        (['x', 'C(g)[T.b]'], [2.0, 1.0], 1.0)
        >>> model.predict(pd.DataFrame({"x": [4.0], "g": ["b"]})).round(4)
        array([10.])
        """
        from .io.formula import design

        built = design(formula, data)
        intercept = built.encoding.intercept
        if settings.get("fit_intercept", intercept) != intercept:
            raise OptionError(f"option fit_intercept={settings['fit_intercept']} contradicts the formula {formula!r}, "
                              f"which {'has' if intercept else 'has no'} intercept; say it in the formula "
                              f"('- 1' leaves it out)")
        model = cls(**{**settings, "fit_intercept": intercept})
        model.fit(pd.DataFrame(built.X, columns=built.encoding.names, copy=False), built.y)
        model.encoding_ = built.encoding
        return model

    def score(self, X, y, sample_weight=None):
        """R² of the predictions on (X, y), weighted by ``sample_weight`` when given (scikit-learn's ``r2_score``)

        Returns
        -------
        score : float
        """
        check_is_fitted(self)
        if sample_weight is not None:
            sample_weight = check_weights(sample_weight, len(y))
        return super().score(X, y, sample_weight=sample_weight)

    def summary(self, X=None, y=None, *, cov_type: str = "nonrobust", at: str | None = None, sample_weight=None):
        """Inference statistics, as statsmodels' OLS summary gives them (its WLS summary for a weighted fit).

        Computed from the training data's Gram statistics, so no data is needed except for
        the heteroskedasticity-robust covariances (``cov_type`` "HC0" to "HC3"), which read
        each row's residual: pass the training ``X`` and ``y`` for those (raw data for a model fitted
        through a formula or categories), and the ``sample_weight`` of a weighted fit.

        ``at``: "fit" (the fitted parameters) or "exact" (the exact optimum). By default the
        summary is at the fit when it reached the optimum, and at the exact optimum, said so in
        its header, when it did not: p-values at a point far from the optimum mean nothing.

        Returns
        -------
        gradfit.inference.summary_table.Summary
            prints as a table, shows as HTML in notebooks, ``to_dict()`` for scripts

        Examples
        --------
        >>> from gradfit import GDRegressor, load_diabetes
        >>> data = load_diabetes()
        >>> model = GDRegressor().fit(data.X, data.y)
        >>> round(model.summary().rsquared, 4)
        0.5177
        """
        check_is_fitted(self)
        from .inference import stats

        return stats.model_summary(self, None if X is None else encoded(self, X), y, cov_type=cov_type, at=at,
                                   sample_weight=sample_weight)

    def save(self, path, include_history: bool | str = True) -> None:
        """write the fitted model to a JSON file (see ``gradfit.io.persist.save``)"""
        persist.save(self, path, include_history=include_history)

    def _config(self) -> FitConfig:
        """the estimator's parameters as a FitConfig"""
        params = self.get_params()
        params["engine_options"] = dict(params["engine_options"] or {})
        return FitConfig.from_params(params)

    def _warm_start(self, n_features: int) -> tuple[list[float], float] | None:
        """with warm_start, the last (coef, intercept) a fresh fit starts from; else None"""
        if not (self.warm_start and hasattr(self, "coef_")):
            return None
        if len(self.coef_) != n_features:
            raise DataError(f"warm_start=True: X has {n_features} features but the previous fit "
                            f"had {len(self.coef_)}")
        return self.coef_.tolist(), self.intercept_

    def _store(self, result: solver.FitResult) -> "GDRegressor":
        """copy a FitResult into the fitted attributes"""
        self.result_ = result
        self.coef_ = np.asarray(result.coef, dtype=np.float64)
        self.intercept_ = float(result.intercept)
        self.n_iter_ = result.n_iter
        self.t_ = result.state.step
        self.history_ = result.history
        self.lr_ = float(result.lr)
        self.seed_ = int(result.seed)
        self.converged_ = bool(result.converged)
        self.verdict_ = result.verdict
        self.momentum_ = float(result.steps.momentum)
        self.schedule_ = result.steps.schedule
        self.exact_ = result.exact
        self.gap_ = result.gap
        self.gram_stats_ = result.stats
        self.preprocessor_ = result.prep
        self._store_held_out(result.held_out)
        self.weighted_ = result.weighted
        return self

    def _store_held_out(self, held) -> None:
        """best_epoch_, best_val_loss_, last_coef_ and last_intercept_ (a fit without held-out data: None,
        None and its own parameters)"""
        self.held_out_ = held
        self.best_epoch_ = None if held is None else int(held.best.epoch)
        self.best_val_loss_ = None if held is None else float(held.best.val_loss)
        self.last_coef_ = self.coef_.copy() if held is None else np.asarray(held.last_coef, dtype=np.float64)
        self.last_intercept_ = self.intercept_ if held is None else float(held.last_intercept)


def load_model(path) -> GDRegressor:
    """Read a model file written by ``save`` (or ``gradfit fit``) back into a fitted GDRegressor.

    The file is treated as untrusted input: it is parsed with limits (size, nesting,
    digits; no NaN or Infinity), validated whole against ``gradfit.io.model_schema.SCHEMA``,
    its fields are checked against each other, and its settings are checked like the
    estimator's own. Where to connect (``engine_options``) is never restored.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    GDRegressor
        Fitted: ``predict`` works, and ``history_``, ``exact_``, ``gap_`` and
        ``gram_stats_`` are restored (``result_`` is None). When the file keeps the
        descent's position, ``resume``, ``partial_fit`` and ``fit`` with
        ``warm_start=True`` continue it exactly (optimizer state, epoch, step, seed, lr).

    Raises
    ------
    ModelFileError
        One line naming the file and the field: missing file, not JSON, another
        format, a newer schema version, a field missing, of the wrong type or out of
        range, sizes that disagree, settings the estimator refuses.
    """
    return persist.load(path, GDRegressor)
