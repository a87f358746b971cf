"""Regenerate the checked-in protobuf code of ``emulator/faces/rpc_http/protos``
(``*_pb2.py`` and ``.pyi``).

Usage::

    python scripts/gen_protos.py          # rewrite the generated files
    python scripts/gen_protos.py --check  # exit 1 if they differ from a fresh generation

Needs ``grpcio-tools`` (it bundles ``protoc``). The output of ``protoc`` is post-processed in
one deterministic way: the ``ValidateProtobufRuntimeVersion`` call (and its import) is removed
and the "NO CHECKED-IN PROTOBUF GENCODE" banner is replaced by a note naming this script.
That check would refuse every protobuf runtime older than the ``protoc`` that happened to run
here, while the code itself (``AddSerializedFile`` + ``builder``) loads on protobuf >= 4.21,
which is what Google's ``appengine-python-standard`` users have installed.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = Path("emulator") / "faces" / "rpc_http" / "protos"
PROTOS = ("taskqueue_wire.proto", "remote_api_wire.proto", "logservice_wire.proto")

_BANNER = "# NO CHECKED-IN PROTOBUF GENCODE\n"
_NOTE = "# Checked in on purpose; regenerate with `python scripts/gen_protos.py`.\n"
_VERSION_IMPORT = "from google.protobuf import runtime_version as _runtime_version\n"
_VERSION_CHECK = re.compile(
    r"_runtime_version\.ValidateProtobufRuntimeVersion\(\n(?:    .*\n)*?\)\n"
)


def _postprocess(text: str) -> str:
    """Apply the documented edits to one generated file (idempotent)."""
    text = text.replace(_BANNER, _NOTE).replace(_VERSION_IMPORT, "")
    return _VERSION_CHECK.sub("", text)


def generate() -> dict[Path, str]:
    """Run protoc on every proto; return ``{path relative to the repo: file text}``.

    Raises:
        RuntimeError: protoc failed (its stderr is in the message).
    """
    sources = [str(PROTO_DIR / name) for name in PROTOS]
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "grpc_tools.protoc", "-I.", f"--python_out={out}"]
        cmd += [f"--pyi_out={out}", *sources]
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"protoc failed: {done.stderr.strip()}")
        return {
            path.relative_to(out): _postprocess(path.read_text(encoding="utf-8"))
            for path in sorted(Path(out).rglob("*_pb2.py*"))
        }


def stale_files(fresh: dict[Path, str]) -> list[Path]:
    """The generated files whose checked-in text differs from ``fresh`` (or is missing)."""
    stale = []
    for rel, text in fresh.items():
        target = ROOT / rel
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            stale.append(rel)
    return stale


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check`` compare) the generated files; 0 on success, 1 if stale."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare, do not write")
    args = parser.parse_args(argv)
    fresh = generate()
    stale = stale_files(fresh)
    if args.check:
        for rel in stale:
            print(f"stale: {rel}", file=sys.stderr)
        return 1 if stale else 0
    for rel in stale:
        (ROOT / rel).write_text(fresh[rel], encoding="utf-8")
        print(f"wrote {rel}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
