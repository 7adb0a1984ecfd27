"""Build ctprof's optional C extension. The metadata is in pyproject.toml.

ctprof._procread reads and parses a process's /proc files in C. The
extension is optional: when it cannot be compiled (no compiler or no Python
headers) the install still succeeds and ctprof uses its pure-Python reader.
"""

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


class BuildExt(build_ext):
    """Add flags that only compilers with a Unix command line accept."""

    def build_extensions(self) -> None:
        if self.compiler.compiler_type == "unix":
            for extension in self.extensions:
                # The rounding in _procread.c relies on every product being
                # rounded on its own, never fused into a multiply-add.
                extension.extra_compile_args += ["-ffp-contract=off"]
        super().build_extensions()


setup(
    ext_modules=[
        Extension(
            "ctprof._procread",
            ["src/ctprof/_procread.c"],
            libraries=["m"],
            optional=True,
        )
    ],
    cmdclass={"build_ext": BuildExt},
)
