import os

os.environ.setdefault("FEATLEARN_PROGRESS", "0")

import jax  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture
def key():
    return jax.random.key(0)


@pytest.fixture(autouse=True)
def _isolated_outputs(tmp_path, monkeypatch):
    """Every test writes its cache and figures into its own temporary folder."""
    monkeypatch.setenv("FEATLEARN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("FEATLEARN_FIGURES", str(tmp_path / "figures"))


@pytest.fixture
def x64():
    """Run a test in float64 (closed-form population losses are compared at high precision)."""
    old = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    try:
        yield
    finally:
        jax.config.update("jax_enable_x64", old)
