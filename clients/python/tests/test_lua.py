"""Loading the scripts: includes expanded as src/redis/lua.ts does, the storage format checked."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from sluice_client import Queue, ScriptError, StorageFormatError
from sluice_client.scripts import find_lua_dir, load_lua, load_scripts

REPO_LUA = Path(__file__).resolve().parents[3] / "lua"


def test_the_repository_lua_is_found_and_each_include_is_inlined_once():
    assert Path(str(find_lua_dir())) == REPO_LUA
    add = load_lua("add", REPO_LUA)
    assert "--@include" not in add
    # keys is asked for by add and again by groups: defined once, the second a comment.
    assert add.count("local function jobKey(") == 1
    assert "-- (keys already included)" in add
    assert load_scripts().format == 3


def test_include_cycles_are_refused(tmp_path):
    (tmp_path / "includes").mkdir()
    (tmp_path / "x.lua").write_text("--@include a\n")
    (tmp_path / "includes" / "a.lua").write_text("--@include b\n")
    (tmp_path / "includes" / "b.lua").write_text("--@include a\n")
    with pytest.raises(ScriptError, match="lua include cycle: x -> a -> b -> a"):
        load_lua("x", tmp_path)


def test_crlf_is_kept_as_node_reads_it(tmp_path):
    (tmp_path / "includes").mkdir()
    (tmp_path / "x.lua").write_bytes(b"--@include a\r\nreturn 1\r\n")
    (tmp_path / "includes" / "a.lua").write_bytes(b"local A = 1\r\n")
    source = load_lua("x", tmp_path)
    assert source == "local A = 1\r\n\nreturn 1\r\n"
    assert hashlib.sha1(source.encode()).hexdigest() == hashlib.sha1(b"local A = 1\r\n\nreturn 1\r\n").hexdigest()


def test_scripts_of_an_unknown_format_are_refused(tmp_path):
    lua = tmp_path / "lua"
    shutil.copytree(REPO_LUA, lua)
    init = lua / "init.lua"
    init.write_text(init.read_text().replace("local FORMAT = 3", "local FORMAT = 4"))
    with pytest.raises(StorageFormatError, match="storage format 4, and this client writes format 3") as caught:
        Queue("q", "redis://127.0.0.1:1", lua_dir=lua)
    assert caught.value.found == 4
    assert caught.value.code == "ERR_SLUICE_CONFIG_MISMATCH"


def test_a_missing_lua_dir_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("SLUICE_LUA_DIR", str(tmp_path))
    with pytest.raises(ScriptError, match=f"not found \\(looked in: {tmp_path}\\).*lua_dir= or \\$SLUICE_LUA_DIR"):
        Queue("q", "redis://127.0.0.1:1")
