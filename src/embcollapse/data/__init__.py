"""Data: generators and readers -> prepared integer arrays -> splits and batches.

``load_dataset(DataConfig)`` gives any dataset by name (``synthetic``, ``criteo``, ``avazu``,
``movielens-100k``) or by the path of a prepared directory; raw files are prepared once
(:mod:`.prepare`) by the readers :mod:`.criteo`, :mod:`.avazu`, :mod:`.movielens` and
:func:`.csv.csv_source`, which share one chunked reading core (:mod:`.csv`, :mod:`.tokens`).
Prepared directories are written, read and checked by :mod:`.storage`, split by :mod:`.splits`
and batched by :mod:`.loader`. Nothing here imports training, models, the book or reports.
"""
from .dataset import load_dataset
from .errors import DataError
from .splits import PreparedData, Split

__all__ = ["DataError", "PreparedData", "Split", "load_dataset"]
