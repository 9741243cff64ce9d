"""Run every benchmark and print its figures: `make bench` or `.venv/bin/python bench/run.py`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = [
    "card_core.py",
    "card_pages.py",
    "pages.py",
    "backoffice_pages.py",
    "provisioning_api.py",
    "authorizations.py",
    "statements.py",
]

if __name__ == "__main__":
    failed = 0
    for name in BENCHES:
        if (HERE / name).exists():
            failed |= subprocess.call([sys.executable, str(HERE / name)], cwd=HERE)  # noqa: S603
    sys.exit(failed)
