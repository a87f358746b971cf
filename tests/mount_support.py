"""Small file systems for the storage-failure tests: a tmpfs to fill, an ext4 loop mount
to turn read-only. Both need root (``mount``); :func:`mount_skip_reason` says why not."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path


def mount_skip_reason(*tools: str) -> str | None:
    """Why these tests cannot mount file systems here, or None if they can."""
    if os.geteuid() != 0:
        return "mounting a small file system needs root"
    missing = [tool for tool in ("mount", "umount", *tools) if shutil.which(tool) is None]
    if missing:
        return f"missing tools: {', '.join(missing)}"
    return None


def _run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True, text=True)


def _unmount(directory: Path) -> None:
    result = subprocess.run(["umount", str(directory)], capture_output=True, text=True)
    if result.returncode != 0:  # something still holds a file: detach now, free later
        subprocess.run(["umount", "-l", str(directory)], capture_output=True, text=True)


@contextlib.contextmanager
def tmpfs(directory: Path, size: str = "2m") -> Iterator[Path]:
    """A tmpfs of ``size`` mounted on ``directory`` (created) while the block runs."""
    directory.mkdir(parents=True, exist_ok=True)
    _run("mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(directory))
    try:
        yield directory
    finally:
        _unmount(directory)


def fill(directory: Path, name: str = "filler") -> Path:
    """Write zeros into ``directory/name`` until the file system is full; return the file."""
    path = directory / name
    chunk = b"\0" * 4096
    with path.open("wb", buffering=0) as out:
        while True:
            try:
                out.write(chunk)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                break
    return path


@contextlib.contextmanager
def ext4_loop(directory: Path, image: Path, size_mb: int = 8) -> Iterator[str]:
    """An ext4 file system in ``image``, loop-mounted on ``directory`` with
    ``errors=remount-ro``; yields its loop device's name (``loop0``)."""
    directory.mkdir(parents=True, exist_ok=True)
    with image.open("wb") as out:
        out.truncate(size_mb * 2**20)
    _run("mkfs.ext4", "-q", "-F", str(image))
    _run("mount", "-o", "loop,errors=remount-ro", str(image), str(directory))
    try:
        yield _device_of(directory)
    finally:
        _unmount(directory)


def _device_of(directory: Path) -> str:
    target = os.path.realpath(directory)
    for line in Path("/proc/mounts").read_text().splitlines():
        fields = line.split()
        if fields[1] == target:
            return os.path.basename(fields[0])
    raise RuntimeError(f"{directory} is not a mount point")


def turn_read_only(device: str) -> None:
    """Make ext4 report an error on ``device`` (a loop device of :func:`ext4_loop`, never
    another one), so that ``errors=remount-ro`` turns it read-only under open files."""
    if not device.startswith("loop"):
        raise ValueError(f"refusing to trigger an error on {device}: not a loop device")
    Path(f"/sys/fs/ext4/{device}/trigger_fs_error").write_text("test: turn read-only\n")
