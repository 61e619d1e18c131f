"""Fails while importing: every case must blame the import, not a function."""

import numpy as np

WIDTH = np.int64(1) // 0 + 1 / 0
