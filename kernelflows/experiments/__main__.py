"""``python -m kernelflows.experiments {list, run ID [--scale paper|reduced], check}``."""

import sys

from .cli import main

sys.exit(main())
