"""The layer rules of pyproject.toml ([tool.importlinter]) hold, and break on a bad import."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("qms", "kiosk", "display", "printer", "dispatcher", "base")
LINT = Path(sys.executable).with_name("lint-imports")


def lint(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(LINT), "--no-cache", "--config", str(root / "pyproject.toml")],
                          cwd=root, env=env, capture_output=True, text=True, timeout=120)


def test_the_tree_keeps_every_layer_rule() -> None:
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(("module", "bad_import", "contract"), [
    ("kiosk/flow.py", "import display.hall", "Layers"),
    ("base/paths.py", "import dispatcher.domain.model", "Layers"),
    ("printer/render.py", "import kiosk.texts", "Layers"),
    ("dispatcher/domain/policy.py", "import dispatcher.server.store", "server | client > domain"),
    ("display/hall.py", "import dispatcher.server.openapi", "never its server"),
    ("dispatcher/domain/model.py", "import dispatcher.domain.core", "cycles"),
    ("dispatcher/domain/core.py", "import sqlite3", "no I/O library"),
])
def test_a_violating_import_breaks_the_check(tmp_path: Path, module: str, bad_import: str,
                                             contract: str) -> None:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{bad_import}  # noqa\n",
                      encoding="utf-8")
    result = lint(tmp_path)
    assert result.returncode != 0, result.stdout
    broken = [ln for ln in result.stdout.splitlines() if ln.rstrip().endswith("BROKEN")]
    assert any(contract in ln for ln in broken), result.stdout
