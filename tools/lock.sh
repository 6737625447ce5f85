#!/usr/bin/env bash
# Refresh requirements.lock, the exact versions that tools/install.sh installs (both modes):
#   bash tools/lock.sh              # resolve '.[test]' afresh in a throwaway venv: the newest
#                                   # releases within pyproject.toml's ranges, no constraints
#   bash tools/lock.sh --from .venv # freeze an existing venv instead (one the suite passed in)
# Then run `bash tools/install.sh --test && .venv/bin/pytest`, pin envs/*.yaml to the new
# versions (tests/test_install.py says which differ) and commit the lock with them.
# The lock holds every installed distribution but the project itself (pip freeze --all
# --exclude-editable), pip, setuptools and wheel included.
set -euo pipefail
cd "$(dirname "$0")/.."

lock=requirements.lock
if [ "${1:-}" = "--from" ]; then
    venv=${2:?usage: bash tools/lock.sh [--from VENV]}
    made_by="bash tools/lock.sh --from $venv"
else
    scratch=$(mktemp -d)
    trap 'rm -rf "$scratch"' EXIT
    python3 -m venv "$scratch/venv"
    "$scratch/venv/bin/pip" install -q --upgrade pip
    "$scratch/venv/bin/pip" install -q -e '.[test]'
    venv=$scratch/venv
    made_by="bash tools/lock.sh"
fi

"$venv/bin/pip" check
platform=$("$venv/bin/python" -c 'import platform; print("Python", platform.python_version(), "on", platform.system(), platform.machine())')
frozen=$("$venv/bin/pip" freeze --all --exclude-editable)
{
    echo "# Exact versions of every package that 'pip install -e .[test]' installs (the plain install,"
    echo "# the test extra and the jax extra it includes): the environment the test suite passed in."
    echo "# tools/install.sh installs both modes with this file as pip constraints (-c requirements.lock);"
    echo "# pyproject.toml keeps its ranges for a plain pip install, envs/*.yaml pin these versions."
    echo "# Refresh: bash tools/lock.sh (a throwaway venv, '.[test]' without constraints, pip freeze)."
    echo "# Made by '$made_by' on $(date -u +%Y-%m-%d), $platform."
    echo "$frozen"
} >"$lock.tmp"
mv "$lock.tmp" "$lock"
echo "wrote $lock: $(grep -c '==' "$lock") pinned packages"
