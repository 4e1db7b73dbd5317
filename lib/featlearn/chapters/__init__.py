r"""The book's chapters, one module per chapter: what each chapter runs, at which sizes, what it checks and how
it draws it. The papers' mathematics they run lives one floor down (:mod:`featlearn.one_step`, ...); the list of
chapters is :data:`featlearn.registry.CHAPTERS`.

A chapter module's contract, read through the registry: ``SIZES`` (profile → sizes, ``toy`` and ``quick`` to
``paper``; the notebook runs ``S = fl.profiles.sizes(**SIZES)``), ``CUT_SHORT`` (the budgets ``featlearn reproduce
--cut-short`` shortens), ``SEED`` and ``SECTIONS``: one function per section of the chapter, ``section(S, key) ->
dict``, run by the notebook and, headless, by ``featlearn reproduce``. A section runs its sweeps through
:func:`featlearn.sweeps.sweep` (cached) and returns plain arrays, scalars and tables, the data behind its figure and
the values its checks test, and under ``glue`` the numbers the prose quotes. Claims measured both live and on the
stored results are :class:`featlearn.scorecard.Claim` constants, and the ``plot_*`` functions draw a figure from a
section's output, live or stored, so that the same drawing serves both.
"""
