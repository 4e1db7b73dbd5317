"""The book's chapters, one module per chapter: its sizes and cut-short budgets, seed, sections, claims and
figures. The papers' mathematics they run lives one floor down (:mod:`featlearn.one_step`, ...); the list of
chapters is :data:`featlearn.registry.CHAPTERS`."""
