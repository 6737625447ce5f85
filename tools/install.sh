#!/usr/bin/env bash
# Set up this project on a fresh Debian machine with Python 3:
#   bash tools/install.sh          # virtual environment .venv with the package (demo, study)
#   bash tools/install.sh --test   # ... plus test tools, graphviz and a single-node SLURM (root)
set -euo pipefail
cd "$(dirname "$0")/.."

with_tests=0
[ "${1:-}" = "--test" ] && with_tests=1

if [ "$with_tests" = 1 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    # graphviz draws the DAG; munge + slurm run the real single-node cluster of the SLURM test.
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends \
        graphviz munge slurmctld slurmd slurm-client >/dev/null
fi

# requirements.lock pins every package to the version the tests passed with (bash tools/lock.sh
# refreshes it); as pip constraints it leaves the project itself an editable install.
lock=requirements.lock
python3 -m venv .venv
.venv/bin/pip install -q -c "$lock" --upgrade pip
if [ "$with_tests" = 1 ]; then
    .venv/bin/pip install -q -c "$lock" -e '.[test]'
else
    .venv/bin/pip install -q -c "$lock" -e .
fi
# Keras imported as the jobs import it (training.backend): TensorFlow's start-up notices hidden.
echo "installed: $(.venv/bin/python -c 'import transfer_tsc, snakemake; from transfer_tsc.training.backend import import_keras_quietly as k; k(); import keras; print("transfer_tsc", transfer_tsc.__version__, "keras", keras.__version__)')"
