"""The paper's analyses (section V) as tables (``analysis``), the source-selection comparison
(``selection``), the gain of transfer compared across networks (``across_networks``), their
figures (``figures``) and the published results they are compared with (``published``)."""
