#!/usr/bin/env bash
# Makes (or reuses) the Python venv that sluice's tests run the Python client in, and prints its path last.
# Used by .ci/run before the test suite and by test/integration/python-producer.test.ts when the venv is
# missing: idempotent, cached between runs, safe to run twice at once (a lock). The venv holds only the
# packages of requirements-test.txt, not this package (the tests put src/ on the path): one venv serves
# every checkout. It is made again when requirements-test.txt or python3 changes.
#   SLUICE_PYTHON_VENV  where it lives (default: $XDG_CACHE_HOME or ~/.cache, then sluice-ci/python-venv)
#   PYTHON              the interpreter to make it with (default: python3)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${SLUICE_PYTHON_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/sluice-ci/python-venv}"
python="${PYTHON:-python3}"

if ! command -v "$python" >/dev/null 2>&1; then
  echo "error: $python is not on PATH; the Python client's tests need Python >= 3.9 with venv and pip" >&2
  echo "(Debian/Ubuntu: apt-get install python3 python3-venv; macOS: brew install python)." >&2
  exit 1
fi

# The stamp names what the venv was made from: the requirements and the interpreter.
stamp="$(cat "$here/requirements-test.txt"; "$python" -c 'import sys; print(sys.version, sys.executable)')"
stamp="$(printf '%s' "$stamp" | sha256sum | cut -d' ' -f1)"

mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi

if [ -x "$venv/bin/python" ] && [ "$(cat "$venv/.sluice-stamp" 2>/dev/null || true)" = "$stamp" ]; then
  printf '%s\n' "$venv"
  exit 0
fi

echo "making the Python venv for the client's tests in $venv" >&2
# Made in place, the stamp written last: a venv cut short by a kill has none and is made again.
rm -rf "$venv"
if ! "$python" -m venv "$venv" >&2; then
  echo "error: '$python -m venv' failed; install the venv module (Debian/Ubuntu: apt-get install python3-venv)" >&2
  exit 1
fi
# --retries 0: where the default index cannot be reached but another index pip is set up with can, each
# package would otherwise wait out 5 retries (2 minutes in all instead of 25 s).
if ! "$venv/bin/python" -m pip install --disable-pip-version-check --retries 0 -q -r "$here/requirements-test.txt" >&2; then
  echo "error: pip could not install $here/requirements-test.txt into the venv (see pip's output above);" >&2
  echo "the Python client's tests need redis, msgpack, pytest and hatchling from a package index pip can reach." >&2
  exit 1
fi
printf '%s' "$stamp" >"$venv/.sluice-stamp"
printf '%s\n' "$venv"
