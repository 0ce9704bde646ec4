"""Builds lowbit's native module (_lowbit) with the project's CMake build for pip.

The build directory is build/release when it was configured for this interpreter (so
`pip install` after `make build` compiles nothing new), else build/pip-<python version>,
configured here with only what the module needs. LOWBIT_CMAKE_BUILD_DIR overrides the choice.
"""
import os
import pathlib
import re
import subprocess
import sys
import sysconfig

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = pathlib.Path(__file__).resolve().parent


def base_interpreter():
    return os.path.realpath(getattr(sys, "_base_executable", sys.executable))


def configured_for_this_python(build_dir):
    cache = build_dir / "CMakeCache.txt"
    if not cache.exists():
        return False
    found = re.search(r"^_?Python_EXECUTABLE:[A-Z]+=(.*)$", cache.read_text(), re.M)
    return bool(found) and os.path.realpath(found.group(1)) == base_interpreter()


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        chosen = os.environ.get("LOWBIT_CMAKE_BUILD_DIR")
        release = ROOT / "build" / "release"
        if chosen:
            build_dir = pathlib.Path(chosen).resolve()
        elif configured_for_this_python(release):
            build_dir = release
        else:
            build_dir = ROOT / "build" / f"pip-{sys.version_info.major}.{sys.version_info.minor}"
        if not (build_dir / "CMakeCache.txt").exists():
            subprocess.run(["cmake", "-S", str(ROOT), "-B", str(build_dir), "-G", "Ninja",
                            "-DCMAKE_BUILD_TYPE=Release", f"-DPython_EXECUTABLE={base_interpreter()}",
                            "-DLOWBIT_BUILD_TESTS=OFF", "-DLOWBIT_BUILD_KERNEL_CHECK=OFF"], check=True)
        jobs = str(os.cpu_count() or 2)
        subprocess.run(["cmake", "--build", str(build_dir), "--target", "lowbit_python", "-j", jobs], check=True)
        suffix = sysconfig.get_config_var("EXT_SUFFIX")
        built = build_dir / "python" / "lowbit" / f"_lowbit{suffix}"
        if not built.exists():
            sys.exit(f"lowbit: the build did not produce {built}")
        target = pathlib.Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        self.copy_file(str(built), str(target))


setup(ext_modules=[Extension("lowbit._lowbit", sources=[])], cmdclass={"build_ext": CMakeBuild})
