"""Data profiles: mergeable per-column summaries of a dataset, stored as JSON.

A reference profile of the training data travels with a model version so that drift and data
quality can be checked later without reloading the training data; profiles of traffic windows
merge, so an hour's profile need not be rebuilt to check a day.

    >>> import numpy as np
    >>> p = DatasetProfile.from_data(np.zeros((5, 2)))
    >>> sorted(p.columns), p.row_count
    (['input_0', 'input_1'], 5)
"""

from prodml.profiles.categorical import CategoricalProfile
from prodml.profiles.columns import Column, to_columns
from prodml.profiles.dataset import ColumnProfile, DatasetProfile
from prodml.profiles.numeric import NumericProfile
from prodml.profiles.reservoir import Reservoir
from prodml.profiles.sketch import QuantileSketch

__all__ = [
    "CategoricalProfile",
    "Column",
    "ColumnProfile",
    "DatasetProfile",
    "NumericProfile",
    "QuantileSketch",
    "Reservoir",
    "to_columns",
]
