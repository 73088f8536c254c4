"""Measures of collapse: singular values and information abundance (paper Definition 3.1); how far
training moved the weights from their initialisation (:mod:`.drift`)."""
from .spectrum import (information_abundance, model_field_ia, model_spectra, normalized_ia,
                       normalized_spectrum, random_ia, run_field_ia, side_by_side_ia,
                       singular_values)

__all__ = ["singular_values", "normalized_spectrum", "information_abundance", "random_ia",
           "normalized_ia", "model_field_ia", "model_spectra", "side_by_side_ia", "run_field_ia"]
