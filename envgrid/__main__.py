"""``python -m envgrid``: the same as the ``envgrid`` command."""

import sys

from envgrid.cli import main

sys.exit(main())
