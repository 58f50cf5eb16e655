"""The compiled part of envgrid (everything else is in pyproject.toml).

For the ingest workers' CPU per frame (issue 23): ``ingest._copyrows`` turns real-time
and minute uploads into binary COPY rows (ingest/copyrows.py); ``protocol._fastpath``
computes the HJ 212 CRC and reads the head of a clean frame (protocol/crc.py,
protocol/decoder.py).  ``make setup`` builds them with the machine's C compiler;
``ENVGRID_NO_EXTENSIONS=1`` runs their pure-Python forms.
"""

from setuptools import Extension, setup

_FLAGS = ["-O2", "-Wall", "-Wextra", "-Werror=implicit-function-declaration"]

setup(
    ext_modules=[
        Extension("ingest._copyrows", ["ingest/_copyrows.c"], extra_compile_args=_FLAGS),
        Extension("protocol._fastpath", ["protocol/_fastpath.c"], extra_compile_args=_FLAGS),
    ]
)
