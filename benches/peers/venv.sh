# Sourced by the benchmark scripts (from the repository's root): creates or refreshes the pinned
# Python environment benches/peers/.venv from benches/peers/requirements.txt and sets $venv.
venv=benches/peers/.venv
req=benches/peers/requirements.txt
if [ ! -x "$venv/bin/python" ] || ! cmp -s "$req" "$venv/.requirements"; then
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
  cp "$req" "$venv/.requirements"
fi
