"""A wheel carries its own copy of lua/ (hatch_build.py) and runs from it, away from any checkout."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]


def test_the_test_requirements_hold_the_package_dependencies():
    # pyproject.toml's one-line `dependencies = [...]`, read without tomllib (Python 3.11+ only).
    line = next(line for line in (HERE / "pyproject.toml").read_text().splitlines() if line.startswith("dependencies = "))
    dependencies = ast.literal_eval(line.split("=", 1)[1].strip())
    requirements = {line.strip() for line in (HERE / "requirements-test.txt").read_text().splitlines() if line.strip() and not line.startswith("#")}
    assert dependencies and set(dependencies) <= requirements


def test_a_wheel_ships_lua_and_adds_jobs_from_it(tmp_path, redis_url, queue_name, r):
    # Built by the build backend itself (what `pip wheel` runs, less pip's 5 s of setup).
    build = subprocess.run([sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(tmp_path)], capture_output=True, text=True, cwd=HERE)
    assert build.returncode == 0, build.stdout + build.stderr
    (wheel,) = tmp_path.glob("sluice_client-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    repo_lua = HERE.parents[1] / "lua"
    for path in [*repo_lua.glob("*.lua"), *repo_lua.glob("includes/*.lua")]:
        assert f"sluice_client/lua/{path.relative_to(repo_lua).as_posix()}" in names
        assert zipfile.ZipFile(wheel).read(f"sluice_client/lua/{path.relative_to(repo_lua).as_posix()}") == path.read_bytes()

    # Imported from the wheel alone (zipimport), run from elsewhere: only the shipped copy can be found.
    script = (
        "import sys; from sluice_client import Queue; from sluice_client.scripts import find_lua_dir;"
        "q = Queue(sys.argv[1], sys.argv[2]); print(find_lua_dir()); print(q.add('from-wheel', {'ok': True})); q.close()"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("SLUICE_LUA_DIR", "PYTHONPATH")}
    env["PYTHONPATH"] = str(wheel)
    run = subprocess.run([sys.executable, "-c", script, queue_name, redis_url], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert run.returncode == 0, run.stderr
    found, job_id = run.stdout.split()
    assert found.startswith(str(wheel))
    assert r.exists(f"sluice:{{{queue_name}}}:wait:1") and job_id.isdigit()
