"""featlearn: feature learning in two-layer networks, beyond the kernel regime.

One concept per module:

* :mod:`featlearn.hermite` – orthonormal Hermite polynomials;
* :mod:`featlearn.targets` – multi-index Hermite targets, the teacher network, Gaussian samplers;
* :mod:`featlearn.data` – sparse parity and Gaussian mixtures, the first n of n_max samples, streamed ghost data;
* :mod:`featlearn.models` – the two-layer network (Flax NNX), its pure view, the activations, the first step;
* :mod:`featlearn.train` – the one training loop (one ``lax.scan``: any loss of the parameters, weights, λ schedules,
  optax optimisers, metrics); the one ridge solver (one λ grid; validation set, statistics or leave-one-out);
* :mod:`featlearn.taylor` – linearised (NTK) and quadratic (QuadNTK) Taylor terms around the init;
* :mod:`featlearn.one_step` – Algorithm 1 of Damian, Lee & Soltanolkotabi: one gradient step, then ridge;
* :mod:`featlearn.good_directions` – NTK + QuadNTK with the good-directions regulariser (Nichani, Bai & Lee);
* :mod:`featlearn.population` – closed-form population losses of two-layer nets (arc-cosine expectations);
* :mod:`featlearn.gradient_features` – gradient features and the two-stage algorithm (Shi, Wei & Liang);
* :mod:`featlearn.agop` – average gradient outer product, the Neural Feature Ansatz, Recursive Feature Machines;
* :mod:`featlearn.local_convergence` – staged weight decay, teacher structure and the dual certificate (Zhou & Ge);
* :mod:`featlearn.kernels` – closed-form NNGP/NTK (arc-cosine kernels), empirical NTK, random features, and
  kernel ridge regression end to end (the kernel reference curves);
* :mod:`featlearn.atlas` – every method on every target: learning curves, crossing points, exponents, theory;
* :mod:`featlearn.book` – the generated pages: figure gallery, citations, status, scorecard;
* :mod:`featlearn.scorecard` – every check of every chapter, recorded by the check itself;
* :mod:`featlearn.kernel_regime` – lazy training: distance moved, gap to the linearised model, NTK at finite width;
* :mod:`featlearn.separations` – paired network-versus-kernel measurements: n* per seed with censoring, the ratio
  n*_kernel / n*_network per dimension and the slope of its growth;
* :mod:`featlearn.metrics` – errors, alignments, principal angles, the nearest teacher, log-log fits;
* :mod:`featlearn.sweeps` – seeds × hyperparameters as one compiled program, sharded and cached;
* :mod:`featlearn.progress` – a progress bar that stays silent in CI and in the built book;
* :mod:`featlearn.profiles` – the ``quick`` and ``paper`` sizes, and named profiles between them;
* :mod:`featlearn.results` – the stored results of ``featlearn reproduce`` (``results/<chapter>/<profile>/``);
* :mod:`featlearn.figures` – the plotting style, fixed-name figure files, sweep output as tables, glue from a dict
  (matplotlib is imported on use: ``import featlearn`` does not load it);
* :mod:`featlearn.rng` – random draws that compile fast (drawn flat, then reshaped; a counter-based stream).
"""

from . import (  # noqa: E402
    agop,
    atlas,
    book,
    data,
    figures,
    good_directions,
    gradient_features,
    hermite,
    kernel_regime,
    kernels,
    local_convergence,
    metrics,
    models,
    one_step,
    population,
    profiles,
    progress,
    results,
    ridge,
    rng,
    scorecard,
    separations,
    sweeps,
    targets,
    taylor,
    train,
)
from ._version import __version__  # noqa: E402

__all__ = [
    "agop",
    "atlas",
    "book",
    "data",
    "figures",
    "good_directions",
    "gradient_features",
    "hermite",
    "kernel_regime",
    "kernels",
    "local_convergence",
    "metrics",
    "models",
    "one_step",
    "population",
    "profiles",
    "progress",
    "results",
    "ridge",
    "rng",
    "scorecard",
    "separations",
    "sweeps",
    "targets",
    "taylor",
    "train",
    "__version__",
]
