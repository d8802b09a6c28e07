#!/usr/bin/env bash
# Every test: the Rust suite (unit, integration, CLI, doc tests) and the interoperability suite,
# which checks arrstore's files against real NumPy, SciPy, pyarrow and DuckDB installed from PyPI
# into a virtual environment this script creates (.venv, pinned by tests/interop/requirements.txt).
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv
req=tests/interop/requirements.txt
if [ ! -x "$venv/bin/python" ] || ! cmp -s "$req" "$venv/.requirements"; then
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
  cp "$req" "$venv/.requirements"
fi

cargo test
cargo build --quiet --bin arrstore
ARRSTORE_BIN="$PWD/target/debug/arrstore" "$venv/bin/python" -m pytest tests/interop -q
