"""Run the real ``trackly`` command in a subprocess, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import TEST_SECRET


def trackly(*args: str, cwd: Path, env: dict[str, str] | None = None,
            secret: str | None = TEST_SECRET, timeout: float = 60
            ) -> subprocess.CompletedProcess[str]:
    """``secret=None`` leaves TRACKLY_SECRET_KEY unset (embedded mode generates one)."""
    full_env = {k: v for k, v in os.environ.items()
                if not k.startswith(("TRACKLY_", "DISCORD_"))}
    if secret is not None:
        full_env["TRACKLY_SECRET_KEY"] = secret
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "trackly", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout, check=False)
