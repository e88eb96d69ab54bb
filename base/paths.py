"""Where qms keeps its state: `$STATE_DIRECTORY` under systemd, else `state/` beside the config."""

from __future__ import annotations

import os
from pathlib import Path


def state_dir(config_path: Path) -> Path:
    """The state folder for a config file (the database, the fake printer's tickets …)."""
    env = os.environ.get("STATE_DIRECTORY")
    if env:
        return Path(env.split(":")[0])
    return config_path.resolve().parent / "state"
