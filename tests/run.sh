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

# `cargo test` also builds target/debug/arrstore (the CLI tests run it), with the features the
# tests unify; a separate `cargo build` would resolve features without the dev-dependencies and
# rebuild much of the dependency tree, doubling the build's time and disk.
cargo test
test -x target/debug/arrstore
ARRSTORE_BIN="$PWD/target/debug/arrstore" "$venv/bin/python" -m pytest tests/interop -q
