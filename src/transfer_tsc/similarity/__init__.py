"""Similarity between datasets (section III-B): DTW (``dtw``), per-class DBA prototypes
(``prototypes``) and the distance between two datasets, the minimum DTW over their prototypes
(``distances``)."""
