"""``python -m bench``: the kit's benchmark (see ``bench.run``)."""

import sys

from bench.run import main

sys.exit(main())
