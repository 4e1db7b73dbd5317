r"""Target functions: multi-index Hermite polynomials :math:`f^*(x) = g(Ux)` and teacher networks.

A multi-index target is given by its Hermite expansion
:math:`g(z) = \sum_\alpha c_\alpha \prod_{i=1}^r h_{\alpha_i}(z_i)` over multi-degrees :math:`\alpha\in\mathbb N^r`,
with :math:`h_k` the orthonormal Hermite polynomials and :math:`U\in\mathbb R^{r\times d}` with orthonormal rows.
For :math:`x\sim N(0,I_d)` the products are orthonormal, so the variance of :math:`f^*` and its variance in each
total degree :math:`|\alpha|` are exact sums of squared coefficients; a kernel that learns only degrees
:math:`\le\ell` plateaus at :meth:`MultiIndexTarget.plateau` ``(ell)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array

from . import _checks, rng
from .hermite import hermite

Terms = tuple[tuple[tuple[int, ...], float], ...]


def random_orthonormal(key: Array, r: int, d: int, dtype=jnp.float32) -> Array:
    """A uniformly random ``(r, d)`` matrix with orthonormal rows (QR of a Gaussian matrix, signs fixed)."""
    r = _checks.positive_int("r", r)
    d = _checks.positive_int("d", d)
    if r > d:
        raise ValueError(f"r must be at most d = {d}, got {r}")
    g = rng.normal(key, (d, r), dtype=jnp.float32)
    q, rr = jnp.linalg.qr(g)
    q = q * jnp.sign(jnp.diagonal(rr))[None, :]
    return q.T.astype(dtype)


@jax.tree_util.register_pytree_node_class
@dataclass(frozen=True)
class MultiIndexTarget:
    r"""The target :math:`f^*(x) = \sum_\alpha c_\alpha \prod_i h_{\alpha_i}(u_i\cdot x)`.

    ``U``: ``(r, d)`` with orthonormal rows. ``terms``: tuple of ``(alpha, c_alpha)`` with ``len(alpha) == r``.
    A JAX pytree (``U`` is the leaf), so it can be passed into jitted and vmapped functions.
    """

    U: Array
    terms: Terms

    def tree_flatten(self):
        return (self.U,), self.terms

    @classmethod
    def tree_unflatten(cls, terms, children):
        return cls(children[0], terms)

    @property
    def r(self) -> int:
        return self.U.shape[0]

    @property
    def d(self) -> int:
        return self.U.shape[1]

    @property
    def degree(self) -> int:
        return max(sum(a) for a, _ in self.terms)

    def __call__(self, x: Array) -> Array:
        """``x``: ``(..., d)`` → ``(...)``."""
        z = x @ self.U.T.astype(x.dtype)
        out = jnp.zeros(z.shape[:-1], dtype=x.dtype)
        for alpha, c in self.terms:
            prod = jnp.ones(z.shape[:-1], dtype=x.dtype)
            for i, k in enumerate(alpha):
                if k:
                    prod = prod * hermite(k, z[..., i])
            out = out + c * prod
        return out

    def link(self, z: Array) -> Array:
        """The link function g on ``z``: ``(..., r)`` → ``(...)``."""
        eye = jnp.eye(self.r, self.d, dtype=z.dtype)
        return MultiIndexTarget(eye, self.terms)(jnp.pad(z, [(0, 0)] * (z.ndim - 1) + [(0, self.d - self.r)]))

    @property
    def variance(self) -> float:
        """Exact :math:`\\mathrm{Var}f^*(x)` (the constant term excluded)."""
        return float(sum(c * c for a, c in self.terms if sum(a) > 0))

    @property
    def mean(self) -> float:
        return float(sum(c for a, c in self.terms if sum(a) == 0))

    def degree_variances(self) -> np.ndarray:
        """Exact variance carried by each total degree ``k = 0..degree`` (index 0 is the squared mean)."""
        out = np.zeros(self.degree + 1)
        for a, c in self.terms:
            out[sum(a)] += c * c
        return out

    def plateau(self, ell: int) -> float:
        """Variance of the components of degree ``> ell``: the test MSE of a predictor that learns exactly the
        degree ``<= ell`` part, e.g. kernel ridge regression with ``n ≍ d^ell`` samples."""
        ell = _checks.nonneg_int("ell", ell)
        return float(self.degree_variances()[ell + 1:].sum())

    def linear_coefficients(self) -> Array:
        r""":math:`\mathbb E[f^*(x)\,x] = U^\top (c_{e_1},\dots,c_{e_r})`, shape ``(d,)``."""
        c = np.zeros(self.r)
        for a, v in self.terms:
            if sum(a) == 1:
                c[int(np.argmax(a))] += v
        return self.U.T @ jnp.asarray(c, dtype=self.U.dtype)

    def expected_hessian(self) -> Array:
        r""":math:`H = \mathbb E[\nabla^2 f^*(x)] = U^\top \mathbb E[\nabla^2 g(z)]\,U`, shape ``(d, d)``.

        By Stein's lemma :math:`\mathbb E[\partial_i\partial_j g] = c_{e_i+e_j}` for :math:`i\ne j` and
        :math:`\sqrt2\,c_{2e_i}` on the diagonal."""
        h = np.zeros((self.r, self.r))
        for a, v in self.terms:
            if sum(a) != 2:
                continue
            nz = [i for i, k in enumerate(a) if k]
            if len(nz) == 1:
                h[nz[0], nz[0]] += math.sqrt(2) * v
            else:
                i, j = nz
                h[i, j] += v
                h[j, i] += v
        return self.U.T @ jnp.asarray(h, dtype=self.U.dtype) @ self.U


def _parse_terms(terms: Mapping[tuple[int, ...], float], r: int) -> Terms:
    if not terms:
        raise ValueError("terms must name at least one Hermite term")
    out = []
    for alpha, c in terms.items():
        alpha = tuple(int(k) for k in alpha)
        if len(alpha) != r or any(k < 0 for k in alpha):
            raise ValueError(f"terms: each multi-degree must be {r} non-negative integers, got {alpha}")
        out.append((alpha, float(c)))
    return tuple(out)


def multi_index(key: Array, d: int, terms: Mapping[tuple[int, ...], float], *, normalize: bool = False,
                dtype=jnp.float32) -> MultiIndexTarget:
    """A multi-index target with a uniformly random ``U``.

    ``terms`` maps multi-degrees to coefficients of the orthonormal products, e.g. the two-index target
    ``{(2, 0): .5, (0, 2): .5, (4, 0): .5, (2, 2): .5}`` (unit variance). ``normalize=True`` rescales the
    non-constant part to unit variance.
    """
    d = _checks.positive_int("d", d)
    r = len(next(iter(terms))) if terms else 0
    parsed = _parse_terms(terms, r)
    if normalize:
        v = sum(c * c for a, c in parsed if sum(a) > 0)
        if v <= 0:
            raise ValueError("terms: cannot normalize a constant target")
        parsed = tuple((a, c / math.sqrt(v)) for a, c in parsed)
    return MultiIndexTarget(random_orthonormal(key, r, d, dtype), parsed)


def single_index(key: Array, d: int, degrees: Mapping[int, float], *, normalize: bool = False,
                 dtype=jnp.float32) -> MultiIndexTarget:
    r"""A single-index target :math:`\sum_k c_k h_k(u\cdot x)`; ``degrees`` maps ``k`` to ``c_k``."""
    return multi_index(key, d, {(int(k),): c for k, c in degrees.items()}, normalize=normalize, dtype=dtype)


def hermite_sum(key: Array, d: int, degree_variances: Mapping[int, float], *, dtype=jnp.float32
                ) -> MultiIndexTarget:
    r"""A target with prescribed variance per degree: :math:`\sum_k \sqrt{v_k}\,h_k(u_k\cdot x)`, each degree
    on its own orthonormal direction :math:`u_k` (so degrees do not share a direction)."""
    ks = sorted(int(k) for k in degree_variances)
    r = len(ks)
    terms = {}
    for i, k in enumerate(ks):
        v = float(degree_variances[k])
        if v < 0:
            raise ValueError(f"degree_variances[{k}] must be >= 0, got {v}")
        alpha = [0] * r
        alpha[i] = k
        terms[tuple(alpha)] = math.sqrt(v)
    return multi_index(key, d, terms, dtype=dtype)


@jax.tree_util.register_pytree_node_class
@dataclass(frozen=True)
class TeacherNetwork:
    r"""Teacher :math:`f^*(x) = \sum_{j\le m^*} a^*_j\,\sigma(w^*_j\cdot x + b^*_j)`.

    ``W``: ``(m_star, d)``, ``a``: ``(m_star,)``, ``b``: ``(m_star,)``; ``activation`` a name from
    :data:`featlearn.models.ACTIVATIONS`."""

    W: Array
    a: Array
    b: Array
    activation: str = "relu"

    def tree_flatten(self):
        return (self.W, self.a, self.b), self.activation

    @classmethod
    def tree_unflatten(cls, activation, children):
        return cls(*children, activation=activation)

    def __call__(self, x: Array) -> Array:
        from .models import activation_fn

        return activation_fn(self.activation)(x @ self.W.T + self.b) @ self.a


def teacher_network(key: Array, d: int, m_star: int, *, a: Array | None = None, orthogonal: bool = True,
                    activation: str = "relu", dtype=jnp.float32) -> TeacherNetwork:
    r"""The library's one teacher-network constructor: :math:`f^*(x) = \sum_{i\le m^*} a_i\,\sigma(w^*_i\cdot x)`
    with unit-norm directions :math:`w^*_i`, uniformly random (orthonormal rows of :func:`random_orthonormal` if
    ``orthogonal``, else independent), no bias, output weights ``a`` ``(m_star,)`` (default ``±1`` alternating)
    and σ the activation named ``activation`` (:data:`featlearn.models.ACTIVATIONS`; Zhou & Ge's teacher is
    ``"abs"``). ``W`` ``(m_star, d)`` and ``a`` are in ``dtype``."""
    from .models import activation as _activation

    d = _checks.positive_int("d", d)
    m_star = _checks.positive_int("m_star", m_star)
    _activation(activation)  # a known name, or ValueError
    if orthogonal:
        W = random_orthonormal(key, m_star, d, dtype)
    else:
        W = rng.normal(key, (m_star, d), dtype)
        W = W / jnp.linalg.norm(W, axis=1, keepdims=True)
    if a is None:
        a = jnp.where(jnp.arange(m_star) % 2 == 0, 1.0, -1.0).astype(dtype)
    a = jnp.asarray(a, dtype)
    _checks.shape("a", a, (m_star,))
    return TeacherNetwork(W, a, jnp.zeros((m_star,), dtype), activation)


def gaussian_inputs(key: Array, n: int, d: int, dtype=jnp.float32) -> Array:
    """``n`` samples of :math:`N(0, I_d)`, shape ``(n, d)``."""
    n = _checks.positive_int("n", n)
    d = _checks.positive_int("d", d)
    return rng.normal(key, (n, d), dtype)


def sample(key: Array, target: Callable[[Array], Array], n: int, d: int | None = None, *,
           noise_std: float = 0.0, dtype=jnp.float32) -> tuple[Array, Array]:
    """Draw ``x ~ N(0, I_d)`` (``(n, d)``) and ``y = target(x) + noise_std·ξ`` (``(n,)``)."""
    if d is None:
        d = getattr(target, "d", None) or target.W.shape[1]
    _checks.real_in("noise_std", noise_std, 0.0)
    kx, ke = jax.random.split(key)
    x = gaussian_inputs(kx, n, d, dtype)
    y = target(x).astype(dtype)
    if noise_std:
        y = y + noise_std * rng.normal(ke, y.shape, dtype)
    return x, y
