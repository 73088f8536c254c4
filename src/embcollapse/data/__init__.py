"""Data: generators and readers -> prepared integer arrays -> splits and batches."""
from .dataset import PreparedData, Split, load_dataset

__all__ = ["PreparedData", "Split", "load_dataset"]
