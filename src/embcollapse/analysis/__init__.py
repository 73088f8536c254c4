"""Measures of collapse: singular values, information abundance (paper Definition 3.1), effective
rank and stable rank; how far training moved the weights from their initialisation
(:mod:`.drift`)."""
from .spectrum import (COLLAPSE_MEASURES, effective_rank, field_measures,
                       information_abundance, model_field_ia, model_spectra, normalized_ia,
                       normalized_spectrum, random_ia, run_field_ia, side_by_side_ia,
                       side_by_side_spectra, singular_values, stable_rank)

__all__ = ["singular_values", "normalized_spectrum", "information_abundance", "random_ia",
           "normalized_ia", "model_field_ia", "model_spectra", "side_by_side_ia", "run_field_ia",
           "effective_rank", "stable_rank", "COLLAPSE_MEASURES", "field_measures",
           "side_by_side_spectra"]
