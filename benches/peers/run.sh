#!/usr/bin/env bash
# The peer comparison: creates the pinned Python environment (benches/peers/.venv, from
# benches/peers/requirements.txt), builds arrstore in release mode, generates the public cases into
# benches/peers/out/cases and prints the comparison table. Arguments go to benches/peers/compare.py
# (case names, --detail, --json OUT, --repeat N, --jxl-effort N, --no-arrstore: the peers only,
# without building arrstore).
set -euo pipefail
cd "$(dirname "$0")/../.."

. benches/peers/venv.sh
# The same targets as scaling.py and sql_vs_duckdb.py build: examples resolve the crate's
# features with its dev-dependencies, so building the binary alone would rebuild much of the tree.
case " $* " in
  *" --no-arrstore "*) ;;
  *) cargo build --release --quiet --bin arrstore --example sql_bench ;;
esac
exec "$venv/bin/python" benches/peers/compare.py "$@"
