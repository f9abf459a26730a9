"""``python -m core.cli``: the command line, for a checkout without the ``trove`` script."""

import sys

from core.cli.main import main

sys.exit(main())
