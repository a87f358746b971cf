"""Building the Go check program (``tests/go/src/taskqueuecheck``) with Debian's packages.

GOPATH mode (``GO111MODULE=off``) with a ``GOPATH`` of ``tests/go`` (the program) and
:data:`GOCODE` (the source tree ``golang-google-appengine-dev`` and its dependencies install),
so no module proxy is needed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

GO_DIR = Path(__file__).resolve().parent / "go"
#: Where Debian's ``golang-*-dev`` packages install Go sources.
GOCODE = Path("/usr/share/gocode")
APPENGINE_SRC = GOCODE / "src" / "google.golang.org" / "appengine"
PROGRAM = "taskqueuecheck"
INSTALL_HINT = "apt-get install golang-go golang-google-appengine-dev"


def missing_toolchain() -> str | None:
    """Why the Go program cannot be built here, or None if it can."""
    if shutil.which("go") is None:
        return f"Go toolchain not installed: {INSTALL_HINT}"
    if not (APPENGINE_SRC / "taskqueue" / "taskqueue.go").is_file():
        return f"Go appengine package not installed in {APPENGINE_SRC}: {INSTALL_HINT}"
    return None


def go_env(gopath_root: Path, cache_dir: Path) -> dict[str, str]:
    """The environment for ``go build`` in GOPATH mode, with ``gopath_root`` (a directory
    holding ``src/<package>``) before :data:`GOCODE`; a private cache if HOME has none."""
    env = dict(os.environ)
    gopath = os.pathsep.join([str(gopath_root), str(GOCODE)])
    env.update(GO111MODULE="off", GOPATH=gopath, GOFLAGS="")
    if "GOCACHE" not in env and not (env.get("XDG_CACHE_HOME") or env.get("HOME")):
        env["GOCACHE"] = str(cache_dir)
    return env


def build(out_dir: Path, package: str = PROGRAM, gopath_root: Path = GO_DIR) -> Path:
    """Build ``package`` (``gopath_root/src/<package>``) into ``out_dir``; return the binary.

    Raises:
        RuntimeError: the build failed (the compiler's output is in the message).
    """
    binary = out_dir / package
    done = subprocess.run(
        ["go", "build", "-o", str(binary), package],
        cwd=out_dir,
        env=go_env(gopath_root, out_dir / "gocache"),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"go build {package} failed:\n{done.stdout}{done.stderr}")
    return binary
