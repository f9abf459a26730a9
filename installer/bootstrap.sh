#!/usr/bin/env bash
# Create or update the development environment in .venv/ at the repository root.
#   bash installer/bootstrap.sh          Trove and what it needs to run
#   bash installer/bootstrap.sh --dev    the same plus the test and lint tools
# Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

extras=""
[ "${1:-}" = "--dev" ] && extras="[dev]"

python=${PYTHON:-python3}
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
    { echo "Trove needs Python 3.11 or newer ($python is $("$python" --version))" >&2; exit 1; }

[ -x .venv/bin/python ] || "$python" -m venv .venv
pip=(.venv/bin/python -m pip --quiet --disable-pip-version-check)

# PyTorch first and pinned: left to a dependency resolver, a plain "torch" pulls the
# multi-gigabyte CUDA build even where there is no NVIDIA GPU. TROVE_TORCH overrides
# the requirement (for example "torch==2.13.0+cu128" on a GPU workstation).
if ! .venv/bin/python -c 'import torch' 2>/dev/null; then
    "${pip[@]}" install "${TROVE_TORCH:-torch==2.13.0}"
fi
"${pip[@]}" install -e ".$extras"
