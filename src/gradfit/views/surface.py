"""The loss over two parameters, as contours or a 3-D surface, with the descent's path on it.

The two parameters are (W, b) for one feature with an intercept, or any two of the
coefficients and the intercept, the others held at the fit. Values are the training
objective in the data's units, computed from the Gram statistics on a grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.ticker import FuncFormatter

from ..errors import OptionError
from .plotdata import FitView, Objective, view
from .plots import mark_optimum, new_axes, padded_range
from .plottext import tr

KINDS = ("contour", "surface")


@dataclass
class Slice:
    """the objective over two entries of theta = [coef..., b], the rest held at the fit"""

    objective: Objective
    fv: FitView
    index: tuple[int, int]

    def names(self) -> tuple[str, str]:
        return tuple(self._name(i) for i in self.index)

    def _name(self, i: int) -> str:
        d = self.fv.model.n_features
        if i == d:
            return tr("b (intercept)")
        return "W" if d == 1 else f"w[{self.fv.feature_names[i]}]"

    def project(self, coefs: np.ndarray, intercepts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """the two chosen coordinates of parameter vectors"""
        theta = np.column_stack([coefs, intercepts])
        return theta[:, self.index[0]], theta[:, self.index[1]]

    def values(self, p: np.ndarray, q: np.ndarray) -> np.ndarray:
        """the objective where the chosen entries are (p, q) and the rest are the fit's"""
        d = self.fv.model.n_features
        theta = np.tile(np.append(self.fv.coef, self.fv.intercept), (p.size, 1))
        theta[:, self.index[0]] = p.ravel()
        theta[:, self.index[1]] = q.ravel()
        return self.objective(theta[:, :d], theta[:, d]).reshape(p.shape)

    def exact_point(self) -> tuple[float, float] | None:
        exact = self.fv.exact
        if exact is None:
            return None
        p, q = self.project(np.asarray([exact.coef]), np.asarray([exact.intercept]))
        return float(p[0]), float(q[0])

    def grid(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(P, Q, Z) over a range that holds the whole path and the exact optimum"""
        p, q = self.project(*self.fv.path())
        star = self.exact_point()
        if star is not None:
            p, q = np.append(p, star[0]), np.append(q, star[1])
        P, Q = np.meshgrid(np.linspace(*padded_range(p), n), np.linspace(*padded_range(q), n))
        return P, Q, self.values(P, Q)


def parameter_index(param, fv: FitView) -> int:
    """the position in theta = [coef..., b] of a parameter named by index, feature name, 'W' or 'b'"""
    d = fv.model.n_features
    if isinstance(param, (int, np.integer)) and not isinstance(param, bool):
        if 0 <= param < d:
            return int(param)
        raise OptionError(f"option params names coefficient {param}, but the fit has {d} (0..{d - 1})")
    if param in ("b", "intercept"):
        if not fv.model.fit_intercept:
            raise OptionError("option params names the intercept 'b', but this fit has fit_intercept=False")
        return d
    if param in ("W", "w") and d == 1:
        return 0
    if param in fv.feature_names:
        return fv.feature_names.index(param)
    raise OptionError(f"option params names {param!r}, which is not 'W', 'b', a coefficient index or "
                      f"a feature name ({', '.join(fv.feature_names)})")


def default_params(fv: FitView) -> tuple[int, int]:
    """(W, b) for one feature with an intercept, else the first two coefficients"""
    if fv.n_params < 2:
        raise OptionError("a loss surface needs two parameters; this fit has one (use cost_curve)")
    return (0, 1)


def loss_surface(model, X=None, y=None, params=None, kind: str = "contour", resolution: int = 80, ax=None):
    """The loss over two parameters with the descent's path, its start and end, and the exact optimum.

    Parameters
    ----------
    model : GDRegressor, FitResult or History
    X, y : array-like, optional
        The data; needed unless the fit carries its Gram statistics.
    params : pair, optional
        Which two parameters span the plot: ``("W", "b")``, two coefficient
        indices, feature names, or ``"b"`` for the intercept. By default (W, b)
        for one feature, else the first two coefficients; the others are held at the fit.
    kind : {"contour", "surface"}
        Filled contours (2-D) or a 3-D surface (``ax`` must then be a 3-D Axes).
    resolution : int
        Grid points along each axis.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
        The path has one point per history entry.

    Examples
    --------
    >>> from gradfit import fit
    >>> from gradfit.training.config import FitConfig
    >>> result = fit([[1.0], [2.0], [3.0]], [2.0, 4.0, 7.0], FitConfig(lr=0.05, epochs=40))
    >>> ax = loss_surface(result, kind="contour")
    """
    if kind not in KINDS:
        raise OptionError(f"option kind={kind!r} is not one of {list(KINDS)}")
    check_resolution(resolution)
    sl = make_slice(model, X, y, params)
    ax = new_axes(ax, projection="3d" if kind == "surface" else None)
    if kind == "surface" and getattr(ax, "name", "") != "3d":
        raise OptionError("option kind='surface' needs a 3-D Axes (projection='3d')")
    (draw_surface if kind == "surface" else draw_contour)(ax, sl, resolution)
    return ax


def check_resolution(resolution) -> None:
    if not (isinstance(resolution, (int, np.integer)) and resolution >= 2):
        raise OptionError(f"option resolution={resolution!r} must be an integer >= 2")


def make_slice(model, X=None, y=None, params=None) -> Slice:
    """the :class:`Slice` a surface plot draws"""
    fv = view(model)
    index = default_params(fv) if params is None else tuple(parameter_index(p, fv) for p in params)
    if len(index) != 2 or index[0] == index[1]:
        raise OptionError(f"option params={params!r} must name two different parameters")
    return Slice(Objective.of(fv, X, y), fv, index)


def contour_levels(Z: np.ndarray, count: int = 18) -> np.ndarray:
    """levels spaced like the square of the distance from the minimum: even rings on a quadratic bowl"""
    lo, hi = float(Z.min()), float(Z.max())
    if not hi > lo:
        return np.array([lo, lo + 1.0])
    return lo + (hi - lo) * np.linspace(0.0, 1.0, count) ** 2


def draw_contour(ax, sl: Slice, resolution: int) -> None:
    """filled contours, the path and the markers on a 2-D Axes"""
    draw_levels(ax, sl, resolution)
    p, q = sl.project(*sl.fv.path())
    ax.plot(p, q, "-o", color="tab:red", lw=1.2, ms=2.5, label=tr("descent path ({n} entries)", n=len(p)))[0].set_gid("path")
    draw_ends(ax, (p[0], q[0]), (p[-1], q[-1]))
    star = sl.exact_point()
    if star is not None:
        mark_optimum(ax, *star)
    decorate(ax, sl)


def draw_levels(ax, sl: Slice, resolution: int) -> None:
    """filled contours of the objective with a colour bar"""
    P, Q, Z = sl.grid(resolution)
    filled = ax.contourf(P, Q, Z, levels=contour_levels(Z), cmap="viridis")
    ax.contour(P, Q, Z, levels=filled.levels, colors="white", linewidths=0.4, alpha=0.5)
    ax.figure.colorbar(filled, ax=ax, label=tr("loss (training objective)"), format="%.3g")


def draw_surface(ax, sl: Slice, resolution: int) -> None:
    """a 3-D surface with the path drawn on it"""
    P, Q, Z = sl.grid(resolution)
    ax.computed_zorder = False  # draw the path over the surface, not hidden in it
    ax.plot_surface(P, Q, Z, cmap="viridis", alpha=0.75, linewidth=0, antialiased=True)
    p, q = sl.project(*sl.fv.path())
    z = sl.values(p, q)
    ax.plot(p, q, z, "-o", color="tab:red", lw=1.5, ms=2.5, label=tr("descent path ({n} entries)", n=len(p)),
            zorder=10)[0].set_gid("path")
    draw_ends(ax, (p[0], q[0], z[0]), (p[-1], q[-1], z[-1]))
    star = sl.exact_point()
    if star is not None:
        mark_optimum(ax, *star, float(sl.values(np.array([star[0]]), np.array([star[1]]))[0]))
    ax.zaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.3g}"))
    ax.set_zlabel(tr("loss"), labelpad=8)
    decorate(ax, sl)


def draw_ends(ax, start, end) -> None:
    """start: a green dot; end: a hollow red square, so an exact optimum under it stays visible"""
    ax.plot(*([v] for v in start), "o", color="tab:green", mec="white", ms=10, label=tr("start"), zorder=7)[0].set_gid("start")
    ax.plot(*([v] for v in end), "s", mfc="none", mec="tab:red", mew=2, ms=14, label=tr("end"), zorder=8)[0].set_gid("end")


def decorate(ax, sl: Slice) -> None:
    """axis names, the title (what is held on a second line) and the legend where it hides nothing"""
    xname, yname = sl.names()
    title = tr("Loss over {x} and {y}", x=xname.split()[0], y=yname.split()[0])
    if sl.fv.n_params > 2:
        title += "\n" + tr("(others held at the fit)")
    ax.set(xlabel=xname, ylabel=yname, title=title)
    if ax.name == "3d":
        ax.legend(fontsize="small", loc="upper left", framealpha=0.85)
    else:  # below the axes, in two columns so that it fits beside the colour bar
        ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, frameon=False)
