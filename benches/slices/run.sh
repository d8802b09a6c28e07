#!/usr/bin/env bash
# The slice benchmark, side by side in one run: arrstore's slice reads against its full reads
# (examples/slice_bench.rs: a 2 GiB dense array and a sparse array of 50M entries, bytes read
# counted through the reader) and the same dense reads with zarr v3 (benches/slices/zarr_slices.py).
# Arguments go to the example (--dense-gib N, --sparse-entries N, --reps N). Needs about 3x the
# dense array's size of free disk in the working directory ($SLICE_BENCH_DIR, default a
# temporary directory under target/).
set -euo pipefail
cd "$(dirname "$0")/../.."

. benches/peers/venv.sh
# The same targets as benches/peers/run.sh builds, so the tree is built once for both.
cargo build --release --quiet --bin arrstore --example sql_bench --example slice_bench
work="${SLICE_BENCH_DIR:-$(mktemp -d -p "$PWD/target" slices.XXXXXX)}"
work="$(cd "$work" && pwd)"
trap 'rm -rf "$work"' EXIT
bin="$PWD/target/release/examples/slice_bench"
(cd "$work" && "$bin" --npy "$work" "$@")
"$venv/bin/python" benches/slices/zarr_slices.py "$work"
