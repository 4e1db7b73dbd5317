import pytest

from featlearn import cli


def test_info_prints_versions_and_profile(capsys):
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert "featlearn 0.1.0" in out and "jax" in out and "profile: quick" in out


def test_cache_list_and_clear(capsys, tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    folder.mkdir()
    (folder / "x.npz").write_bytes(b"123")
    monkeypatch.setenv("FEATLEARN_CACHE", str(folder))
    assert cli.main(["cache", "list"]) == 0
    assert "1 entries" in capsys.readouterr().out
    assert cli.main(["cache", "clear"]) == 0
    assert not folder.exists()


def test_unknown_command_is_an_error():
    with pytest.raises(SystemExit):
        cli.main(["frobnicate"])
