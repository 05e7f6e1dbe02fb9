"""`python -m confine_tui`: the same as `confine-tui`."""
import sys

from .main import main

sys.exit(main())
