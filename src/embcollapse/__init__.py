"""embcollapse: a reproducible companion to "On the Embedding Collapse When Scaling Up
Recommendation Models" (Guo et al., ICML 2024)."""

__version__ = "0.1.0"

import os as _os

# Idle OpenMP threads sleep instead of spinning (read when torch loads libgomp, so it takes
# effect when this package is imported before torch). On a 2-core machine shared with other
# work, spinning threads cost a DCNv2 epoch 12x the CPU time (benchmarks/README.md).
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
