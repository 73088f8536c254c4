"""embcollapse: a reproducible companion to "On the Embedding Collapse When Scaling Up
Recommendation Models" (Guo et al., ICML 2024)."""

__version__ = "0.1.0"
