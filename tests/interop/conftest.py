"""Shared fixtures of the interoperability tests: the arrstore binary and a scratch folder."""

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def arrstore_bin():
    """The arrstore binary: $ARRSTORE_BIN, or the debug build (built by tests/run.sh)."""
    path = Path(os.environ.get("ARRSTORE_BIN", ROOT / "target" / "debug" / "arrstore"))
    assert path.exists(), f"{path} is missing: run `cargo build` first (tests/run.sh does)"
    return path


@pytest.fixture
def run(arrstore_bin):
    """Runs `arrstore ARGS...`, asserting success; returns the completed process."""

    def go(*args, ok=True):
        p = subprocess.run([str(arrstore_bin), *map(str, args)], capture_output=True, text=True)
        if ok:
            assert p.returncode == 0, f"arrstore {' '.join(map(str, args))} failed:\n{p.stderr}"
        return p

    return go
