"""The compiled part of envgrid (everything else is in pyproject.toml).

``ingest._copyrows`` turns real-time and minute uploads into binary COPY rows
(ingest/copyrows.py) and ``protocol._crc16`` computes the HJ 212 CRC (protocol/crc.py),
for the ingest workers' CPU per frame (issue 23).  ``make setup`` builds it with the machine's C
compiler; ``ENVGRID_NO_EXTENSIONS=1`` runs without it.
"""

from setuptools import Extension, setup

_FLAGS = ["-O2", "-Wall", "-Wextra", "-Werror=implicit-function-declaration"]

setup(
    ext_modules=[
        Extension("ingest._copyrows", ["ingest/_copyrows.c"], extra_compile_args=_FLAGS),
        Extension("protocol._crc16", ["protocol/_crc16.c"], extra_compile_args=_FLAGS),
    ]
)
