"""The paper's analyses (section V) as tables (``analysis``), the source-selection comparison
(``selection``), their figures (``figures``) and the published results they are compared with
(``published``)."""
