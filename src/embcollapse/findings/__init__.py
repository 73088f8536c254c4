"""One function per paper item that returns what this build found for it (a :class:`Finding`).

The modules follow the book's chapters: :mod:`.collapse` (Figures 1a, 1b, 2), :mod:`.theory`
(Figures 3, 4, 14), :mod:`.regularized` (Figures 6, 16), :mod:`.multi_embedding` (Tables 1, 5-7,
Figures 8, 12, 13), :mod:`.ensemble` (beyond the paper: ME against an ensemble of M SE
models), :mod:`.how_it_works` (Figures 9, 10, 17, Appendix E), :mod:`.data_size`
(Table 2), :mod:`.appendices` (Table 3, Figures 11, 15) and :mod:`.datasets` (Table 4). Each
function takes the values a chapter computed from its runs, reads the paper's numbers from
``book/data/paper/*.csv`` and returns named checks, a status and a rule text generated from
the checks; a chapter records it with ``ChapterContext.record``.
"""
from .base import (AUC_MARGIN, STATUSES, Check, Finding, finding, illustration, not_run,
                   run_ids_of, shared, status_of_checks)

__all__ = ["AUC_MARGIN", "STATUSES", "Check", "Finding", "finding", "illustration",
           "not_run", "run_ids_of", "shared", "status_of_checks"]
