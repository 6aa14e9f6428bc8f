"""`python -m trailgate` runs the command line."""

import sys

from trailgate.cli import main

sys.exit(main())
