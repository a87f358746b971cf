"""Packaging hooks that pyproject.toml cannot express: ship the start-up hook
``shims/autoinstall.pth`` as ``taskqueue_emulator_autoinstall.pth`` at the root of
site-packages, for regular and for editable (``pip install -e``) installs. Everything else is
in pyproject.toml."""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.editable_wheel import editable_wheel

PTH_SOURCE = Path(__file__).resolve().parent / "shims" / "autoinstall.pth"
PTH_NAME = "taskqueue_emulator_autoinstall.pth"


class BuildPyWithPth(build_py):
    """Also put the .pth file at the root of the wheel (installed into site-packages)."""

    def run(self) -> None:
        super().run()
        self.copy_file(str(PTH_SOURCE), str(Path(self.build_lib) / PTH_NAME))


class EditableWheelWithPth(editable_wheel):
    """The same for editable wheels, whose root files are written from this directory."""

    def _install_namespaces(self, installation_dir: str, pth_prefix: str) -> None:
        super()._install_namespaces(installation_dir, pth_prefix)
        shutil.copy(PTH_SOURCE, Path(installation_dir) / PTH_NAME)


setup(cmdclass={"build_py": BuildPyWithPth, "editable_wheel": EditableWheelWithPth})
