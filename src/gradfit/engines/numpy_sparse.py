"""The NumPy engine on scipy.sparse X: CSR rows, sparse products, and X never densified.

``engine="numpy"`` takes this class when X is a scipy.sparse matrix or array. X is held as
CSR (CSC is converted once, for row access: a copy of the nonzeros, never of the zeros), in
float64. Preprocessing stays inside the arithmetic, as in the dense engine: with v = w / s,
r = X·v + (b − shift·v + y_shift) − y. The full-data loss and gradient is one compiled read of the
nonzeros (``sparse_passes.full_loss_grad``; a minibatch of the generic loop takes two sparse mat-vec
products), and the minibatch and per-sample epochs run in ``kernels_sparse`` over the CSR rows.
Sample weights w̃ (``gradfit.descent.weights``) weigh each row's terms in all of them.

Gram statistics come from the sparse product XᵀW̃X (W̃ the weights, I unweighted), made dense only
because the solver asks for them when the d×d matrix is small enough (``training.prepare.GRAM_MAX_ENTRIES``,
d ≤ 4000); centering is XᵀW̃X − W·x̄x̄ᵀ (W = Σw̃). Wider data takes the wide-data path: no Gram
statistics, no exact answer, and the verdict says so. The exact answer's design QR needs the dense design,
so ``design()`` is None: least squares is refined on the normal equations with double-double residual
passes over the nonzeros (``sparse_passes.residual_pass_dd``); a robust loss has no exact answer on
sparse data.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from ..descent.optim import average
from ..descent.weights import WeightInfo
from ..errors import OptionError
from ..io.checks import check_sparse_structure
from ..optimum.accurate import DD, ResidualPass
from ..optimum.gram import GramStats
from ..training.state import EpochTask
from . import kernels_sparse, sparse_passes
from .numpy import SHUFFLE_BYTES, NumpyEngine, check_options


def as_csr(X) -> sp.csr_matrix:
    """X as a float64 CSR matrix: the same arrays when it is one already, else one conversion (CSC: a transpose
    of the nonzeros' order; COO and others: scipy's own conversion)"""
    X = X if sp.isspmatrix_csr(X) or isinstance(X, sp.csr_array) else X.tocsr()
    return X if X.dtype == np.float64 else X.astype(np.float64)


class SparseNumpyEngine(NumpyEngine):
    """scipy.sparse X (CSR, CSC converted once to CSR) in float64"""

    checks_values = False  # its stored values are checked before the fit (``io.data.check_arrays``)

    def __init__(self, X, y, *, dtype: str = "float64", device: str = "cpu", **options):
        if np.dtype(dtype) != np.float64:
            raise OptionError(f"option dtype={dtype!r} is not available for sparse X: the sparse kernels run in "
                              "float64; use dtype='float64'")
        self.options = check_options(options)
        self.dtype, self.source = np.dtype(np.float64), None
        check_sparse_structure(X)  # before anything reads X by its indices: a conversion, a product, the kernels
        self.X = as_csr(X)
        self.y = np.asarray(y, dtype=np.float64).reshape(-1)
        self.n_rows, self.n_features = self.X.shape

    def prepare(self, model, prep) -> None:
        super().prepare(model, prep)
        self._kept: dict = {}  # the lazy steps' arrays of this preprocessing (``kernels_sparse.run_epoch``)

    def rows(self, order=None, batch_size: int = 1) -> kernels_sparse.CsrRows:
        """the CSR rows in ``order`` (None: row order)"""
        return kernels_sparse.csr_rows(self.X, self.y, order, batch_size)

    def row_weights(self) -> kernels_sparse.RowWeights:
        """the rows' weights w̃ as the kernels take them (empty: unweighted)"""
        return kernels_sparse.row_weights(self.weights)

    def loss_grad(self, theta, rows=None):
        """over all rows: one compiled pass over the nonzeros (``sparse_passes.full_loss_grad``); over some rows
        (the generic loop's minibatches) the numpy engine's sparse products"""
        if rows is not None:
            return super().loss_grad(theta, rows)
        theta = np.asarray(theta, dtype=np.float64)
        loss, grad = sparse_passes.full_loss_grad(self.rows(), self.row_weights(), self.fold(), theta,
                                                   self.model.loss, self.one_thread)
        return float(loss), grad

    def norm(self, v) -> float:
        """‖v‖ without a BLAS call (BLAS's threads sleep through a compiled epoch and take milliseconds to wake)"""
        v = np.asarray(v, dtype=np.float64)
        return math.sqrt(float(np.einsum("i,i->", v, v)))

    def residual_pass(self, coef, intercept, precise=False) -> ResidualPass:
        coef = np.asarray(coef, dtype=np.float64)
        if precise:
            hi, lo = np.zeros(self.n_features), np.zeros(self.n_features)
            ss, s_hi, s_lo = sparse_passes.residual_pass_dd(self.rows(), self.row_weights(), coef,
                                                              float(intercept), hi, lo)
            return ResidualPass(float(ss), DD(np.append(hi, s_hi), np.append(lo, s_lo)))
        r = self.y - self.X @ coef - float(intercept)
        wr = r if self.weights is None else self.weights * r
        grad = np.append(self.X.T @ wr, wr.sum())
        return ResidualPass(float(r @ wr), DD(grad, np.zeros_like(grad)))

    def design(self):
        return None  # the dense design is what sparse input avoids

    def max_row_sq_norm(self) -> float:
        """max w̃ᵢ·(‖x̃ᵢ‖² (+1 with an intercept)), ‖x̃ᵢ‖² = Σ_j u_j² + Σ_nonzeros z(z − 2u_j), z = x·inv_scale_j,
        u = shift·inv_scale"""
        X, inv = self.X, 1.0 / self.scale
        u = self.shift * inv
        z = X.data * inv[X.indices]
        rows = sp.csr_matrix((z * (z - 2.0 * u[X.indices]), X.indices, X.indptr), shape=X.shape)
        extra = float(u @ u) + (1.0 if self.model.fit_intercept else 0.0)
        norms = np.asarray(rows.sum(axis=1)).reshape(-1) + extra
        return float((norms if self.weights is None else norms * self.weights).max(initial=0.0))

    def gram(self) -> GramStats:
        """centered statistics (weighted by w̃ in a weighted fit) from the sparse product XᵀW̃X (dense d×d) and
        mat-vec products: W·x̄ = Xᵀw̃, XᵀW̃X − W·x̄x̄ᵀ, Xᵀ(w̃·y_c) − x̄·Σw̃y_c with W = Σw̃ (n unweighted)"""
        X, y, n, w = self.X, self.y, self.n_rows, self.weights
        total = float(n) if w is None else float(w.sum())
        wx = X if w is None else sp.csr_matrix(sp.diags(w) @ X)  # rows times their weights: the nonzeros' copy
        x_mean = np.asarray(wx.sum(axis=0), dtype=np.float64).reshape(-1) / total
        y_mean = float(y.mean() if w is None else (w @ y) / total)
        yc = y - y_mean
        wyc = yc if w is None else w * yc
        xtx = (X.T @ wx).toarray() - total * np.outer(x_mean, x_mean)
        xty = X.T @ wyc - x_mean * wyc.sum()
        info = None if w is None else WeightInfo(total, 1.0, 0.0)
        return GramStats(n, x_mean, y_mean, xtx, np.asarray(xty).reshape(-1), float(yc @ wyc), weights=info)

    def _kernel_epoch(self, task: EpochTask, order: np.ndarray, fold, penalty, descent, t0: int) -> int:
        rows = self.rows(order, int(task.batch_size))
        return kernels_sparse.run_epoch(rows, fold, penalty, descent, t0, task.optimizer, self.model.loss.deriv,
                                        average, self.row_weights(), self._kept)

    def _shuffle_block(self) -> int:
        """rows of about SHUFFLE_BYTES of nonzeros"""
        X = self.X
        per_row = (X.data.nbytes + X.indices.nbytes) / max(1, self.n_rows)
        return self.options["shuffle_block"] or max(1, int(SHUFFLE_BYTES // max(per_row, 1.0)))
