"""The compiled part of envgrid (everything else is in pyproject.toml).

``ingest._copyrows`` turns real-time and minute uploads into binary COPY rows
for the ingest workers' CPU per frame (issue 23).  ``make setup`` builds it with the machine's C
compiler; ``ENVGRID_NO_EXTENSIONS=1`` runs without it.
"""

from setuptools import Extension, setup

_FLAGS = ["-O2", "-Wall", "-Wextra", "-Werror=implicit-function-declaration"]

setup(
    ext_modules=[
        Extension("ingest._copyrows", ["ingest/_copyrows.c"], extra_compile_args=_FLAGS),
    ]
)
