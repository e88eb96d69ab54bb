"""`python -m dispatcher ...` is the same as `qms ...`."""

import sys

from .cli import main

sys.exit(main())
