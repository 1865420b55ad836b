"""The Almgren-Chriss optimal-execution model, in plain numpy.

References: R. Almgren and N. Chriss, "Optimal Execution of Portfolio Transactions", J. Risk 3 (2000),
and R. Almgren, C. Thum, E. Hauptmann and H. Li, "Direct Estimation of Equity Market Impact", Risk
(2005) for the power-law temporary impact. The formulas, units and conventions are in
``docs/impact-model.md``; this module depends on numpy only so it runs in a notebook as well as under
the engine.

Discrete model (paper §2). A program holds ``x_0 = X`` units at ``t_0 = 0`` and must hold ``x_N = 0`` at
``T``; slice k (k = 1..N) trades ``n_k = x_{k-1} - x_k`` over ``tau = T / N`` at rate ``v_k = n_k / tau``.
X > 0 is a sale, X < 0 a purchase. The price follows ``S_k = S_{k-1} + sigma sqrt(tau) xi_k - tau g(v_k)``
and slice k fills at ``S_{k-1} - h(v_k)``, with

    g(v) = gamma |v|^alpha sgn(v)                          (permanent impact)
    h(v) = epsilon sgn(v) + eta |v|^beta sgn(v)            (temporary impact)

so the implementation shortfall against the arrival price ``S_0`` has

    E = sum_k tau x_k g(v_k) + sum_k n_k h(v_k)            V = sigma^2 tau sum_k x_k^2

which is a positive loss for buys and sells alike.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from macrofund.venues.impact.errors import ImpactModelError

FloatArray = NDArray[np.float64]

# Below this kappa*T the sinh ratio is evaluated by its Taylor series: it is exact to ~1e-18 there and
# degrades gracefully to the straight line when kappa underflows to 0 (lambda -> 0).
_SERIES_KAPPA_T = 1e-3
# Newton solver for non-linear impact: iteration cap, step size (in units of X) below which we stop,
# and the fraction of the way to the no-reversal boundary a step may go.
_NEWTON_MAX_ITER = 500
_NEWTON_STEP_TOL = 1e-13
_TO_BOUNDARY = 0.5
# Trade sizes (in units of X) below which the singular derivatives of |n|^p are evaluated at this floor.
_TRADE_FLOOR = 1e-12
# A trade (in units of X) this small, pushed further down by the gradient, is held at zero by the solver.
_ACTIVE_TRADE = 1e-9


def _finite_number(name: str, value: object) -> float:
    """Return ``value`` as a float, refusing bools, non-numbers and NaN/inf with a one-line message."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ImpactModelError(f"{name} must be a real number, got {value!r}")
    result = float(value)
    if not math.isfinite(result):
        raise ImpactModelError(f"{name} must be finite, got {value!r}")
    return result


def _slice_count(value: object) -> int:
    """Return the number of slices N, which must be a positive int (a float 5.0 is refused, not cast)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ImpactModelError(f"N must be an int number of slices, got {value!r}")
    if value < 1:
        raise ImpactModelError(f"N must be at least 1 slice, got {value!r}")
    return int(value)


def _frozen(array: FloatArray) -> FloatArray:
    """Make an array read-only so a frozen result really is immutable."""
    array.setflags(write=False)
    return array


@dataclass(frozen=True)
class ExecutionTrajectory:
    """An optimal liquidation schedule and its cost statistics.

    ``holdings`` are x_0..x_N (x_0 = X, x_N = 0) at times ``k * tau``; ``trades`` are n_1..n_N with
    ``n_k = x_{k-1} - x_k`` (positive = sell). ``expected_cost`` and ``variance`` are the mean and
    variance of the implementation shortfall against the arrival price, in price x units. ``kappa`` is
    the paper's urgency (1 / time unit) of the linear model; it is ``None`` for non-linear impact, where
    no single exponential decay rate describes the schedule.
    """

    holdings: FloatArray
    trades: FloatArray
    expected_cost: float
    variance: float
    kappa: float | None
    tau: float
    risk_aversion: float

    @property
    def times(self) -> FloatArray:
        """Times t_0..t_N of the holdings, in the model's time unit."""
        return np.arange(self.holdings.size, dtype=np.float64) * self.tau


@dataclass(frozen=True)
class EfficientFrontier:
    """E and V of the optimal schedule for each risk aversion, in the order given."""

    risk_aversions: FloatArray
    expected_costs: FloatArray
    variances: FloatArray


@dataclass(frozen=True)
class CostStatistics:
    """Mean and variance of the implementation shortfall of one schedule."""

    expected_cost: float
    variance: float


@dataclass(frozen=True)
class AlmgrenChriss:
    """Almgren-Chriss market-impact model with power-law impact (beta = alpha = 1 is the paper's model).

    ``sigma``: volatility in price units per sqrt(time unit). ``eta``: temporary-impact coefficient,
    ``h(v) = epsilon sgn(v) + eta |v|^beta sgn(v)`` with v in units per time unit. ``gamma``:
    permanent-impact coefficient, ``g(v) = gamma |v|^alpha sgn(v)``. ``epsilon``: fixed cost per unit
    traded (half spread + fees). All times passed to the methods are in the same time unit as sigma.
    """

    sigma: float
    eta: float
    gamma: float
    epsilon: float
    beta: float = 1.0
    alpha: float = 1.0

    def __post_init__(self) -> None:
        """Refuse parameters that make the model meaningless rather than produce silent NaN costs."""
        for name in ("sigma", "eta", "gamma", "epsilon"):
            value = _finite_number(name, getattr(self, name))
            if value < 0:
                raise ImpactModelError(f"{name} must not be negative, got {value!r}")
            object.__setattr__(self, name, value)
        for name in ("beta", "alpha"):
            value = _finite_number(name, getattr(self, name))
            if value <= 0:
                raise ImpactModelError(f"{name} (impact exponent) must be positive, got {value!r}")
            object.__setattr__(self, name, value)

    @property
    def is_linear(self) -> bool:
        """True for the paper's linear model, which has a closed-form optimum."""
        return self.beta == 1.0 and self.alpha == 1.0

    # ----------------------------------------------------------------------------------------- impact

    def temporary_impact_per_unit(self, q: float, tau: float) -> float:
        """Price concession per unit of an order of q units filled over tau: ``epsilon + eta (|q|/tau)^beta``.

        Unsigned: a sale receives ``S - this``, a purchase pays ``S + this``. The fill model uses it for
        the average fill price of a child order; q = 0 still costs the half spread epsilon.
        """
        size = abs(_finite_number("q", q))
        duration = self._interval("tau", tau)
        return self.epsilon + self.eta * (size / duration) ** self.beta

    def permanent_impact(self, q: float, tau: float) -> float:
        """Permanent price shift ``g(q/tau) * tau`` left by q units traded over tau (q > 0 = sale).

        Signed like q under the model's sell-positive convention: after a sale the price moves by
        ``-permanent_impact(q, tau)`` (down), after a purchase (q < 0) by the same formula, i.e. up.
        In the paper's discrete model it applies after the order's own fill (see ``single_order_cost``).
        """
        size = _finite_number("q", q)
        duration = self._interval("tau", tau)
        rate = size / duration
        return math.copysign(self.gamma * abs(rate) ** self.alpha * duration, size) if size else 0.0

    def single_order_cost(self, q: float, tau: float) -> float:
        """Expected shortfall of ONE order of q units filled within tau: ``eps|q| + eta|q|(|q|/tau)^beta``.

        Permanent-impact convention: the paper's discrete model fills slice k at ``S_{k-1} - h(v_k)`` and
        only then shifts the price by ``tau g(v_k)``, so an order bears none of its own permanent impact;
        that impact is paid by the units still to trade afterwards. (The ``1/2 gamma X^2`` of the linear
        E is exactly cancelled by the ``-1/2 gamma tau`` in eta_tilde when N = 1.) This equals
        ``optimal_trajectory(q, tau, 1, lam).expected_cost`` for every lam, and is non-decreasing in |q|.
        """
        size = abs(_finite_number("q", q))
        duration = self._interval("tau", tau)
        return self.epsilon * size + self.eta * size * (size / duration) ** self.beta

    # ------------------------------------------------------------------------------------- schedules

    def twap_cost(self, X: float, T: float, N: int) -> CostStatistics:
        """E and V of the straight-line (TWAP) schedule, in closed form.

        With v = |X|/T: ``E = gamma v^alpha tau |X| (N-1)/2 + epsilon|X| + eta|X| v^beta``
        and ``V = sigma^2 X^2 T (1 - 1/N)(1 - 1/(2N)) / 3``. For the linear model E reduces to the paper's
        ``1/2 gamma X^2 + epsilon|X| + (eta - 1/2 gamma tau) X^2 / T``.
        """
        size, horizon, slices = self._program(X, T, N)
        tau = horizon / slices
        quantity = abs(size)
        rate = quantity / horizon
        expected = (
            self.gamma * rate**self.alpha * tau * quantity * (slices - 1) / 2.0
            + self.epsilon * quantity
            + self.eta * quantity * rate**self.beta
        )
        variance = self.sigma**2 * size**2 * horizon * (1.0 - 1.0 / slices) * (1.0 - 0.5 / slices) / 3.0
        return CostStatistics(expected_cost=expected, variance=variance)

    def optimal_trajectory(self, X: float, T: float, N: int, risk_aversion: float) -> ExecutionTrajectory:
        """Schedule minimising ``E + risk_aversion * V`` for trading X units (X > 0 sells) over T in N slices.

        Linear model: the paper's closed form, ``x_j = sinh(kappa (T - t_j)) / sinh(kappa T) X`` with
        ``2 (cosh(kappa tau) - 1) / tau^2 = lambda sigma^2 / eta_tilde`` and ``eta_tilde = eta - gamma tau/2``
        (which must not be negative: refine the grid if it is). kappa is computed as
        ``2 asinh(kappa_tilde tau / 2) / tau`` and the ratio via expm1 or its Taylor series, so lambda -> 0
        converges smoothly to the straight line and lambda = 0 gives it exactly.

        Non-linear temporary impact (beta != 1): damped Newton on the N-1 interior holdings, searching
        schedules that never reverse direction, from the TWAP start; see ``docs/impact-model.md``. With
        lambda = 0 the straight line is returned (a stationary point of E by symmetry). A non-linear
        permanent impact (alpha != 1) is refused here: it admits price manipulation (Huberman & Stanzl,
        2004), the objective is not convex and a local search can stall on a poor schedule; such a model
        is still valid for ``single_order_cost``, ``twap_cost`` and ``cost_of_schedule``.

        Negative risk aversion is refused: it rewards variance, so the "optimum" is unbounded (or a
        schedule that deliberately keeps risk), which is never what an execution algorithm should run.
        """
        size, horizon, slices = self._program(X, T, N)
        lam = _finite_number("risk_aversion", risk_aversion)
        if lam < 0:
            raise ImpactModelError(
                f"risk_aversion must not be negative (a negative value rewards risk), got {lam!r}"
            )
        if self.alpha != 1.0:
            raise ImpactModelError(
                f"optimal_trajectory needs linear permanent impact (alpha = 1), got alpha={self.alpha!r}"
            )
        tau = horizon / slices
        kappa: float | None
        if self.is_linear:
            fractions, kappa = self._linear_fractions(horizon, slices, lam)
        else:
            kappa = None
            if size == 0 or lam == 0:
                fractions = _straight_line(slices)
            else:
                fractions = _newton_fractions(self, abs(size), tau, slices, lam)
        holdings = size * fractions
        holdings[0] = size
        holdings[-1] = 0.0
        trades = holdings[:-1] - holdings[1:]
        expected, variance = self._cost_of(holdings, trades, tau)
        return ExecutionTrajectory(
            holdings=_frozen(holdings),
            trades=_frozen(trades),
            expected_cost=expected,
            variance=variance,
            kappa=kappa,
            tau=tau,
            risk_aversion=lam,
        )

    def efficient_frontier(
        self, X: float, T: float, N: int, risk_aversions: Sequence[float] | FloatArray
    ) -> EfficientFrontier:
        """E and V of the optimal schedule for each risk aversion: as lambda rises V falls and E rises."""
        lams = np.asarray(risk_aversions, dtype=np.float64)
        if lams.ndim != 1:
            raise ImpactModelError(f"risk_aversions must be a 1-D sequence, got shape {lams.shape}")
        costs = np.empty_like(lams)
        variances = np.empty_like(lams)
        for i, lam in enumerate(lams):
            result = self.optimal_trajectory(X, T, N, float(lam))
            costs[i] = result.expected_cost
            variances[i] = result.variance
        return EfficientFrontier(
            risk_aversions=_frozen(lams.copy()), expected_costs=_frozen(costs), variances=_frozen(variances)
        )

    def cost_of_schedule(self, holdings: Sequence[float] | FloatArray, tau: float) -> CostStatistics:
        """E and V of any schedule x_0..x_N (x_N should be 0) on a grid of step tau, by the paper's sums."""
        path = np.asarray(holdings, dtype=np.float64)
        if path.ndim != 1 or path.size < 2 or not np.all(np.isfinite(path)):
            raise ImpactModelError("holdings must be a finite 1-D sequence x_0..x_N with N >= 1")
        step = self._interval("tau", tau)
        expected, variance = self._cost_of(path, path[:-1] - path[1:], step)
        return CostStatistics(expected_cost=expected, variance=variance)

    # -------------------------------------------------------------------------------------- internals

    @staticmethod
    def _interval(name: str, value: object) -> float:
        """Return a strictly positive finite duration."""
        duration = _finite_number(name, value)
        if duration <= 0:
            raise ImpactModelError(f"{name} must be a positive duration, got {duration!r}")
        return duration

    def _program(self, X: float, T: float, N: int) -> tuple[float, float, int]:
        """Validate a (X, T, N) program request."""
        return _finite_number("X", X), self._interval("T", T), _slice_count(N)

    def _cost_of(self, holdings: FloatArray, trades: FloatArray, tau: float) -> tuple[float, float]:
        """E and V by the paper's sums; no negative terms on a one-way schedule, so no cancellation."""
        remaining = holdings[1:]
        rates = np.abs(trades) / tau
        permanent = tau * remaining * np.sign(trades) * self.gamma * rates**self.alpha
        temporary = np.abs(trades) * (self.epsilon + self.eta * rates**self.beta)
        expected = math.fsum(permanent.tolist()) + math.fsum(temporary.tolist())
        variance = self.sigma**2 * tau * math.fsum((remaining**2).tolist())
        return expected, variance

    def _linear_fractions(self, horizon: float, slices: int, lam: float) -> tuple[FloatArray, float]:
        """x_j / X and kappa of the paper's closed-form optimum."""
        tau = horizon / slices
        eta_tilde = self.eta - 0.5 * self.gamma * tau
        if eta_tilde < 0:
            raise ImpactModelError(
                f"eta - gamma*tau/2 = {eta_tilde:.6g} < 0: permanent impact outweighs temporary impact at "
                f"tau={tau:.6g}; use more slices"
            )
        if lam == 0:
            return _straight_line(slices), 0.0
        if eta_tilde == 0:
            # kappa -> infinity: with no temporary cost any delay only adds risk, so trade at once.
            fractions = np.zeros(slices + 1)
            fractions[0] = 1.0
            return fractions, math.inf
        kappa_tilde_tau = math.sqrt(lam * self.sigma**2 / eta_tilde) * tau
        kappa_tau = 2.0 * math.asinh(0.5 * kappa_tilde_tau)  # = arccosh(1 + kt^2 tau^2 / 2), no cancellation
        return _sinh_ratio(kappa_tau, slices), kappa_tau / tau


def _straight_line(slices: int) -> FloatArray:
    """x_j / X of the TWAP schedule, (N - j) / N."""
    return np.arange(slices, -1, -1, dtype=np.float64) / slices


def _sinh_ratio(kappa_tau: float, slices: int) -> FloatArray:
    """``sinh(kappa (T - t_j)) / sinh(kappa T)`` for j = 0..N, stable from kappa = 0 to overflow range."""
    remaining = np.arange(slices, -1, -1, dtype=np.float64)  # N - j
    b = kappa_tau * slices
    if b < _SERIES_KAPPA_T:
        a = kappa_tau * remaining
        return (remaining / slices) * (1.0 + a * a / 6.0 + a**4 / 120.0) / (1.0 + b * b / 6.0 + b**4 / 120.0)
    elapsed = np.arange(slices + 1, dtype=np.float64)  # j
    # sinh(a)/sinh(b) = e^{-(b-a)} (1 - e^{-2a}) / (1 - e^{-2b}): no overflow for large kappa T, and
    # expm1 keeps full precision when kappa T is small.
    return np.exp(-kappa_tau * elapsed) * np.expm1(-2.0 * kappa_tau * remaining) / math.expm1(-2.0 * b)


def _newton_fractions(
    model: AlmgrenChriss, quantity: float, tau: float, slices: int, lam: float
) -> FloatArray:
    """Minimise E + lam V over one-way schedules y_0 = 1 >= y_1 >= ... >= y_N = 0 (y = x / |X|).

    Each slice's cost f_k(y_{k-1}, y_k) = a y_k m^alpha + b m^(1+beta) + e m + c y_k^2 (m = y_{k-1} - y_k)
    couples only neighbours, so the Hessian is tridiagonal: each Newton step is an O(N) solve. Steps are
    regularised until the Hessian is positive definite, kept inside the no-reversal region and
    backtracked until the objective decreases (Armijo), so the iterate only ever improves on TWAP.
    """
    if slices == 1:
        return np.array([1.0, 0.0])
    a = model.gamma * tau ** (1.0 - model.alpha) * quantity ** (1.0 + model.alpha)
    b = model.eta * tau ** (-model.beta) * quantity ** (1.0 + model.beta)
    e = model.epsilon * quantity
    c = lam * model.sigma**2 * tau * quantity**2
    alpha, beta = model.alpha, model.beta

    def objective(y: FloatArray) -> float:
        m = np.maximum(y[:-1] - y[1:], 0.0)
        rest = y[1:]
        terms = a * rest * m**alpha + b * m ** (1.0 + beta) + e * m + c * rest * rest
        return math.fsum(terms.tolist())

    y = _straight_line(slices)
    value = objective(y)
    for _ in range(_NEWTON_MAX_ITER):
        m = np.maximum(y[:-1] - y[1:], _TRADE_FLOOR)
        rest = y[1:]
        d_n = a * rest * alpha * m ** (alpha - 1.0) + b * (1.0 + beta) * m**beta + e
        d_x = a * m**alpha + 2.0 * c * rest
        d_nn = a * rest * alpha * (alpha - 1.0) * m ** (alpha - 2.0) + b * (1.0 + beta) * beta * m ** (
            beta - 1.0
        )
        d_nx = a * alpha * m ** (alpha - 1.0)
        # Interior j = 1..N-1 is slice j's "after" holding and slice j+1's "before" holding.
        grad = (-d_n[:-1] + d_x[:-1]) + d_n[1:]
        diag = (d_nn[:-1] - 2.0 * d_nx[:-1] + 2.0 * c) + d_nn[1:]
        off = -d_nn[1:-1] + d_nx[1:-1]
        step = _projected_newton_step(y, diag, off, grad)
        if step is None or float(np.max(np.abs(step))) < _NEWTON_STEP_TOL:
            break
        full = np.concatenate(([0.0], step, [0.0]))
        trade_change = full[:-1] - full[1:]
        shrinking = trade_change < 0
        limit = 1.0
        if np.any(shrinking):
            current = y[:-1] - y[1:]
            limit = min(1.0, _TO_BOUNDARY * float(np.min(current[shrinking] / -trade_change[shrinking])))
        slope = float(grad @ step)
        t = limit
        improved = False
        for _ in range(60):
            candidate = y + t * full
            candidate_value = objective(candidate)
            if candidate_value <= value + 1e-4 * t * slope:
                y, value, improved = candidate, candidate_value, True
                break
            t *= 0.5
        if not improved or t * float(np.max(np.abs(step))) < _NEWTON_STEP_TOL:
            break
    y[0], y[-1] = 1.0, 0.0
    return y


def _projected_newton_step(
    y: FloatArray, diag: FloatArray, off: FloatArray, grad: FloatArray
) -> FloatArray | None:
    """Newton step on the interior holdings, with exhausted slices held at a zero trade.

    A slice whose trade has shrunk to (numerically) zero while steepest descent would push it negative
    is an active no-reversal constraint: its two holdings move together, so the step is solved in the
    reduced space of the free groups of holdings instead of being truncated to nothing at the boundary.
    """
    interior = y.size - 2
    full_grad = np.concatenate(([0.0], grad, [0.0]))
    trade = y[:-1] - y[1:]
    descent_change = -(full_grad[:-1] - full_grad[1:])
    active = (trade <= _ACTIVE_TRADE) & (descent_change < 0)
    if not np.any(active):
        return _regularised_newton_step(diag, off, -grad)
    # Group holdings 0..N tied by active slices; the groups holding y_0 or y_N stay fixed.
    group = np.cumsum(np.concatenate(([0], (~active).astype(np.int64))))
    fixed = {int(group[0]), int(group[-1])}
    free_groups = sorted({int(g) for g in group[1:-1]} - fixed)
    if not free_groups:
        return np.zeros(interior)
    column = {g: i for i, g in enumerate(free_groups)}
    basis = np.zeros((interior, len(free_groups)))
    for j in range(1, interior + 1):
        g = int(group[j])
        if g in column:
            basis[j - 1, column[g]] = 1.0
    hessian = np.diag(diag) + np.diag(off, 1) + np.diag(off, -1)
    reduced = basis.T @ hessian @ basis
    rhs = -(basis.T @ grad)
    scale = float(np.max(np.abs(np.diag(reduced))))
    mu = 0.0
    for _ in range(40):
        try:
            np.linalg.cholesky(reduced + mu * np.eye(reduced.shape[0]))
        except np.linalg.LinAlgError:
            mu = max(10.0 * mu, 1e-10 * max(scale, 1e-300))
            continue
        return np.asarray(basis @ np.linalg.solve(reduced + mu * np.eye(reduced.shape[0]), rhs))
    return None


def _regularised_newton_step(diag: FloatArray, off: FloatArray, rhs: FloatArray) -> FloatArray | None:
    """Solve (H + mu I) d = rhs for tridiagonal H, raising mu until H + mu I is positive definite."""
    scale = float(np.max(np.abs(diag))) if diag.size else 1.0
    mu = 0.0
    for _ in range(40):
        step = _tridiagonal_pd_solve(diag + mu, off, rhs)
        if step is not None:
            return step
        mu = max(10.0 * mu, 1e-10 * max(scale, 1e-300))
    return None


def _tridiagonal_pd_solve(diag: FloatArray, off: FloatArray, rhs: FloatArray) -> FloatArray | None:
    """LDL^T solve of a symmetric tridiagonal system; None if a pivot is not positive (H not PD)."""
    size = diag.size
    pivots = np.empty(size)
    lower = np.empty(max(size - 1, 0))
    forward = np.empty(size)
    pivots[0] = diag[0]
    if not pivots[0] > 0:
        return None
    forward[0] = rhs[0]
    for i in range(1, size):
        lower[i - 1] = off[i - 1] / pivots[i - 1]
        pivots[i] = diag[i] - lower[i - 1] * off[i - 1]
        if not pivots[i] > 0:
            return None
        forward[i] = rhs[i] - lower[i - 1] * forward[i - 1]
    solution = np.empty(size)
    solution[-1] = forward[-1] / pivots[-1]
    for i in range(size - 2, -1, -1):
        solution[i] = forward[i] / pivots[i] - lower[i] * solution[i + 1]
    if not np.all(np.isfinite(solution)):
        return None
    return solution
