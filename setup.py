"""Build featpool's Cython kernels, with OpenMP where the compiler supports it.

Environment switches:

FEATPOOL_NO_OPENMP=1
    Build without OpenMP even where it works (kernels then run on one thread).
FEATPOOL_DEBUG_CYTHON=1
    Turn Cython's bounds, wraparound and initialization checks back on, for a
    debug build that the tests can run against.
"""
import os
import sys
import tempfile
import textwrap

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

EXTENSIONS = ["featpool._pooling", "featpool._spectral", "featpool._regions",
              "featpool._openmp_helpers"]


def _env_flag(name):
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _openmp_flags(compiler):
    """Return (compile_args, link_args) for OpenMP, or None if it does not work.

    The probe compiles and links a tiny OpenMP program with the compiler that
    setuptools will really use, so a flag that the compiler accepts but the
    linker cannot resolve (macOS clang without libomp) is caught here.
    """
    if compiler.compiler_type == "msvc":
        candidates = [(["/openmp"], [])]
    elif sys.platform == "darwin":
        candidates = [(["-Xpreprocessor", "-fopenmp"], ["-lomp"]), (["-fopenmp"], ["-fopenmp"])]
    else:
        candidates = [(["-fopenmp"], ["-fopenmp"])]
    code = textwrap.dedent(
        """
        #include <omp.h>
        #include <stdio.h>
        int main(void) {
            int n = 0;
            #pragma omp parallel reduction(+:n)
            n += 1;
            printf("%d", n > 0 && omp_get_max_threads() > 0);
            return 0;
        }
        """
    )
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "probe_openmp.c")
        with open(src, "w") as f:
            f.write(code)
        for cflags, lflags in candidates:
            try:
                objs = compiler.compile([src], output_dir=tmp, extra_postargs=cflags)
                compiler.link_executable(
                    objs, "probe_openmp", output_dir=tmp, extra_postargs=lflags
                )
            except Exception:  # any compile or link failure means "not this flag"
                continue
            return cflags, lflags
    return None


class BuildExt(build_ext):
    """build_ext that decides on OpenMP once, with the real compiler."""

    def build_extensions(self):
        if _env_flag("FEATPOOL_NO_OPENMP"):
            flags = None
            print("featpool: OpenMP disabled by FEATPOOL_NO_OPENMP")
        else:
            flags = _openmp_flags(self.compiler)
            if flags is None:
                print(
                    "featpool: WARNING: the compiler cannot build OpenMP programs; "
                    "building without OpenMP (pooling runs on one thread)"
                )
            else:
                print(f"featpool: building with OpenMP ({' '.join(flags[0])})")
        for ext in self.extensions:
            if flags is not None:
                ext.extra_compile_args += flags[0]
                ext.extra_link_args += flags[1]
            if self.compiler.compiler_type != "msvc":
                # No errno from sqrt: lets the compiler vectorise square roots.
                ext.extra_compile_args += ["-O3", "-fno-math-errno"]
        super().build_extensions()


def _extensions():
    debug = _env_flag("FEATPOOL_DEBUG_CYTHON")
    directives = {
        "language_level": 3,
        "boundscheck": debug,
        "wraparound": debug,
        "initializedcheck": debug,
        "cdivision": True,
        "embedsignature": True,
    }
    if debug:
        print("featpool: debug Cython build (bounds and initialization checks on)")
    exts = [
        Extension(
            name,
            [name.replace(".", "/") + ".pyx"],
            include_dirs=[np.get_include()],
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_9_API_VERSION")],
        )
        for name in EXTENSIONS
    ]
    return cythonize(exts, compiler_directives=directives)


setup(ext_modules=_extensions(), cmdclass={"build_ext": BuildExt})
