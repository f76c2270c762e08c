"""The NumPy engine on scipy.sparse X: CSR rows, sparse products, and X never densified.

``engine="numpy"`` takes this class when X is a scipy.sparse matrix or array. X is held as
CSR (CSC is converted once, for row access: a copy of the nonzeros, never of the zeros), in
float64. Preprocessing stays inside the arithmetic, as in the dense engine: with v = w / s,
r = X·v + (b − shift·v + y_shift) − y, a full pass is two sparse mat-vec products (X·v and Xᵀg),
and the minibatch and per-sample epochs run in ``kernels_sparse`` over the CSR rows.

Gram statistics come from the sparse product XᵀX, made dense only because the solver asks for
them when the d×d matrix is small enough (``training.prepare.GRAM_MAX_ENTRIES``, d ≤ 4000); centering is
XᵀX − n·x̄x̄ᵀ. Wider data takes the wide-data path: no Gram statistics, no exact answer, and the
verdict says so. The exact answer's design QR needs the dense design, so ``design()`` is None:
least squares is refined on the normal equations with double-double residual passes over the
nonzeros (``kernels_sparse.residual_pass_dd``); a robust loss has no exact answer on sparse data.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..descent.optim import average
from ..errors import OptionError
from ..optimum.accurate import DD, ResidualPass
from ..optimum.gram import GramStats
from ..training.train import EpochTask
from . import kernels_sparse
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
        self.X = as_csr(X)
        self.y = np.asarray(y, dtype=np.float64).reshape(-1)
        self.n_rows, self.n_features = self.X.shape

    def weigh(self, weights) -> None:
        """sample weights are not woven into the sparse kernels yet: refused, never ignored"""
        if weights is not None:
            raise OptionError("option sample_weight is not available for sparse X yet (the sparse kernels are "
                              "unweighted); fit dense X, or without weights")
        super().weigh(weights)

    def full_pass(self, v, offset) -> tuple[float, np.ndarray, float]:
        """(Σ loss, Xᵀg, Σg) over all rows in one compiled read of the nonzeros"""
        return kernels_sparse.loss_pass(self.X, self.y, v, offset, self.model.loss)

    def _row_parts(self, X, y, v, offset, w=None) -> tuple[float, np.ndarray, float]:
        """(Σ loss, Xᵀg, Σg) over these rows (a minibatch of the generic loop), by two sparse mat-vec products"""
        loss = self.model.loss
        r = X @ v + offset - y
        g = loss.deriv(r, loss.params)
        return float(loss.value(r, loss.params).sum()), X.T @ g, float(g.sum())

    def residual_pass(self, coef, intercept, precise=False) -> ResidualPass:
        coef = np.asarray(coef, dtype=np.float64)
        if precise:
            hi, lo = np.zeros(self.n_features), np.zeros(self.n_features)
            X = self.X
            ss, s_hi, s_lo = kernels_sparse.residual_pass_dd(X.indptr, X.indices, X.data, self.y, coef,
                                                              float(intercept), hi, lo)
            return ResidualPass(float(ss), DD(np.append(hi, s_hi), np.append(lo, s_lo)))
        r = self.y - self.X @ coef - float(intercept)
        grad = np.append(self.X.T @ r, r.sum())
        return ResidualPass(float(r @ r), DD(grad, np.zeros_like(grad)))

    def design(self):
        return None  # the dense design is what sparse input avoids

    def max_row_sq_norm(self) -> float:
        """max ‖x̃_i‖² = Σ_j u_j² + Σ_nonzeros z(z − 2u_j), z = x·inv_scale_j, u = shift·inv_scale"""
        X, inv = self.X, 1.0 / self.scale
        u = self.shift * inv
        z = X.data * inv[X.indices]
        rows = sp.csr_matrix((z * (z - 2.0 * u[X.indices]), X.indices, X.indptr), shape=X.shape)
        best = float(np.asarray(rows.sum(axis=1)).max(initial=0.0)) + float(u @ u)
        return best + (1.0 if self.model.fit_intercept else 0.0)

    def gram(self) -> GramStats:
        """centered statistics from the sparse product XᵀX (dense d×d) and two mat-vec products"""
        X, y, n = self.X, self.y, self.n_rows
        x_mean = np.asarray(X.sum(axis=0), dtype=np.float64).reshape(-1) / n
        y_mean = float(y.mean())
        yc = y - y_mean
        xtx = (X.T @ X).toarray() - n * np.outer(x_mean, x_mean)
        xty = X.T @ yc - x_mean * yc.sum()
        return GramStats(n, x_mean, y_mean, xtx, np.asarray(xty).reshape(-1), float(yc @ yc))

    def _kernel_epoch(self, task: EpochTask, order: np.ndarray, fold, penalty, descent, t0: int) -> int:
        X = self.X
        rows = kernels_sparse.CsrRows(X.indptr, X.indices, X.data, self.y, order, order.size > 0,
                                      int(task.batch_size))
        return kernels_sparse.run_epoch(rows, fold, penalty, descent, t0, task.optimizer, self.model.loss.deriv,
                                        average)

    def _shuffle_block(self) -> int:
        """rows of about SHUFFLE_BYTES of nonzeros"""
        X = self.X
        per_row = (X.data.nbytes + X.indices.nbytes) / max(1, self.n_rows)
        return self.options["shuffle_block"] or max(1, int(SHUFFLE_BYTES // max(per_row, 1.0)))
