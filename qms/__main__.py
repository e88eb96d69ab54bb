"""`python -m qms ...` is the same as `qms ...`."""

import sys

from qms.cli import main

sys.exit(main())
