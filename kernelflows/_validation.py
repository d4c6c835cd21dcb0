"""Input checks: clear errors that name the argument, raised before any work."""

from __future__ import annotations

import numbers

import numpy as np


def as_float_array(X, name: str, *, allow_bool: bool = True) -> np.ndarray:
    """``X`` as a float64 array; a ``ValueError`` naming ``name`` for complex values, text,
    ``None``, ragged nesting, objects that are not numbers, or (``allow_bool=False``) booleans
    (``True`` is not the number 1 to a caller that asked for a number)."""
    _reject_complex(X, name)
    if X is None or isinstance(X, (str, bytes)):
        raise ValueError(f"{name} must be an array of numbers, got {X!r}")
    try:
        raw = np.asarray(X)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name} must be an array of numbers (all rows of one length), got {type(X).__name__}"
        ) from exc
    if raw.dtype.kind in "US" or (
        raw.dtype.kind == "O" and any(isinstance(v, (str, bytes)) for v in raw.ravel())
    ):
        raise ValueError(f"{name} must be an array of numbers, got text ({X!r:.60})")
    if raw.dtype.kind == "O" and not all(isinstance(v, numbers.Number) for v in raw.ravel()):
        raise ValueError(f"{name} must be an array of numbers, got {X!r:.60}")
    try:
        arr = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name} must be an array of numbers (all rows of one length), got {type(X).__name__}"
        ) from exc
    if not allow_bool and (raw.dtype.kind == "b" or _holds_bool(X)):
        raise ValueError(f"{name} must hold numbers, got booleans ({X!r})")
    return arr


def callback_output(value, name: str, shape, *, allow_neg_inf: bool = False) -> np.ndarray:
    """A user callback's output as a float64 array of the expected ``shape``; a ``ValueError``
    naming the callback (``name``, e.g. ``"target.score"``) when it returned something that is
    not an array of real numbers, complex values, another shape, or NaN / inf (``-inf`` allowed
    with ``allow_neg_inf``: a log-density where the density is 0). Raised where the callback is
    called, so that a flow does not report a bad callback as a diverging step."""
    if value is None or isinstance(value, (str, bytes)):
        raise ValueError(f"{name} must return an array of real numbers, got {value!r}")
    if np.iscomplexobj(value):
        raise ValueError(
            f"{name} returned complex values: it must return real numbers (the imaginary part "
            "would be dropped)"
        )
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must return an array of real numbers, got {type(value).__name__}"
        ) from None
    if arr.shape != tuple(shape):
        raise ValueError(f"{name} returned shape {arr.shape}, expected {tuple(shape)}")
    bad = ~np.isfinite(arr)
    if allow_neg_inf:
        bad &= arr != -np.inf
    if bad.any():
        where = np.argwhere(bad)[0]
        what = "NaN" if np.isnan(arr[tuple(where)]) else "inf"
        raise ValueError(
            f"{name} returned {what} at index {tuple(int(i) for i in where)} ({int(bad.sum())} "
            f"non-finite value(s) of {arr.size}): it must be finite at every point it is given"
        )
    return arr


def _holds_bool(X) -> bool:
    if isinstance(X, (bool, np.bool_)):
        return True
    if isinstance(X, (list, tuple)):
        return any(_holds_bool(v) for v in X)
    return False


def as_samples(X, name: str = "X", min_samples: int = 1) -> np.ndarray:
    """Return ``X`` as a float64 array of shape (n, d).

    A 1-D array of shape (n,) is read as n points in dimension 1. Raises ``ValueError`` naming
    ``name`` for other shapes, complex or non-finite entries, coordinates beyond
    ``MAX_COORDINATE`` (their squares would overflow), or fewer than ``min_samples`` rows.
    """
    arr = as_float_array(X, name)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"{name} must have shape (n, d) or (n,), got shape {arr.shape}")
    if arr.shape[1] == 0:
        raise ValueError(f"{name} must have at least one coordinate, got shape {arr.shape}")
    if arr.shape[0] < min_samples:
        raise ValueError(
            f"{name} needs at least {min_samples} sample(s), got {arr.shape[0]} (shape {arr.shape})"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf")
    if arr.size and np.abs(arr).max() > MAX_COORDINATE:
        raise ValueError(
            f"{name} has a coordinate of magnitude {np.abs(arr).max():.3g}, beyond "
            f"{MAX_COORDINATE:.0e}: squared distances would overflow"
        )
    return arr


#: Largest coordinate magnitude accepted: sums of squares of (n + m) d such numbers stay finite.
MAX_COORDINATE = 1e150
#: Usable range of a length scale (a bandwidth, IMQ's c): its square and 1 / its square are
#: normal floats with room for the distances they multiply.
SCALE_RANGE = (1e-150, 1e150)


def _reject_complex(X, name: str) -> None:
    try:
        is_complex = np.iscomplexobj(X)
    except (TypeError, ValueError):  # ragged or not numbers: as_samples says so
        return
    if is_complex:
        raise ValueError(f"{name} must be real, got complex values")


def length_scale(value, name: str) -> float:
    """``value`` as a positive float inside :data:`SCALE_RANGE` (its square and inverse square
    neither overflow nor underflow); a ``ValueError`` naming ``name`` and the range otherwise."""
    value = positive(value, name)
    lo, hi = SCALE_RANGE
    if not lo <= value <= hi:
        raise ValueError(
            f"{name} must lie in [{lo:.0e}, {hi:.0e}] (its square and 1/{name}^2 must stay "
            f"finite and nonzero), got {value!r}"
        )
    return value


def same_dimension(X: np.ndarray, Y: np.ndarray, xname: str = "X", yname: str = "Y") -> None:
    if X.shape[1] != Y.shape[1]:
        raise ValueError(
            f"{xname} and {yname} must have the same dimension d, got {xname} with shape "
            f"{X.shape} and {yname} with shape {Y.shape}"
        )


def as_weights(w, n: int, name: str = "weights") -> np.ndarray:
    """Return ``w`` as a finite float64 vector of length ``n`` (``None`` means all ones)."""
    if w is None:
        return np.ones(n)
    arr = as_float_array(w, name)
    if arr.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf")
    return arr


def positive(value, name: str) -> float:
    """Return ``value`` as a float after checking it is a finite number > 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be positive and finite, got {value!r}")
    return value


def real_number(value, name: str) -> float:
    """``value`` as a float; a ``ValueError`` naming ``name`` if it is not a real number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    return float(value)


def finite_real(value, name: str) -> float:
    """``value`` as a float after checking it is a finite real number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{name} must be a finite real number, got {value!r}")
    return float(value)


def nonnegative(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a non-negative number, got {value!r}")
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be non-negative and finite, got {value!r}")
    return value


def block_size(value, name: str = "block_elements") -> int | None:
    """``None`` (the default block) or a positive integer number of values per block; a
    ``ValueError`` naming ``name`` for 0, negatives, fractions, NaN or booleans."""
    if value is None:
        return None
    return positive_int(value, name)


def flag(value, name: str) -> bool:
    """``value`` if it is a boolean (Python or numpy), else a ``ValueError`` naming ``name``: a
    string such as 'no' is truthy, so it would silently mean True."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise ValueError(f"{name} must be True or False, got {value!r}")


def positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def as_rng(rng) -> np.random.Generator:
    """A ``numpy.random.Generator`` from a Generator, an integer seed, or ``None`` (seed 0).

    ``None`` gives a fixed seed rather than fresh entropy: every run of the package is
    reproducible unless the caller asks otherwise by passing their own Generator.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng(0)
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        if rng < 0:
            raise ValueError(f"rng must be a non-negative integer seed, got {rng!r}")
        return np.random.default_rng(int(rng))
    raise ValueError(f"rng must be a numpy.random.Generator, an integer seed or None, got {rng!r}")


def gaussian_parameters(mean, cov, name: str, positive_definite: bool = True):
    """``(mean, cov)`` of a Gaussian as a vector (d,) and a symmetric (d, d) matrix.

    ``cov`` may be a scalar (isotropic), a vector (diagonal) or a matrix. With
    ``positive_definite=False`` a semi-definite covariance (a point mass, say) is accepted.
    Errors name ``mean_<name>`` or ``cov_<name>``.
    """
    mu = np.atleast_1d(np.asarray(mean, dtype=float))
    if mu.ndim != 1 or not np.all(np.isfinite(mu)):
        raise ValueError(f"mean_{name} must be a finite vector")
    d = len(mu)
    S = np.asarray(cov, dtype=float)
    if S.ndim == 0:
        S = S * np.eye(d)
    elif S.ndim == 1:
        S = np.diag(S)
    if S.shape != (d, d) or not np.all(np.isfinite(S)):
        raise ValueError(f"cov_{name} must be a scalar, a length-{d} vector or a ({d}, {d}) matrix")
    if not np.allclose(S, S.T):
        raise ValueError(f"cov_{name} must be symmetric")
    if positive_definite:
        try:
            np.linalg.cholesky(S)
        except np.linalg.LinAlgError as exc:
            raise ValueError(f"cov_{name} must be positive definite") from exc
    elif np.linalg.eigvalsh(S).min() < -1e-12 * max(1.0, np.abs(S).max()):
        raise ValueError(f"cov_{name} must be positive semi-definite")
    return mu, S


def gaussian_pair(mean_p, cov_p, mean_q, cov_q, positive_definite: bool = True):
    """Two Gaussians' parameters (see :func:`gaussian_parameters`), of one dimension."""
    a, A = gaussian_parameters(mean_p, cov_p, "p", positive_definite)
    b, B = gaussian_parameters(mean_q, cov_q, "q", positive_definite)
    if a.shape != b.shape:
        raise ValueError(f"mean_p and mean_q must have one length, got {a.shape}, {b.shape}")
    return a, A, b, B
