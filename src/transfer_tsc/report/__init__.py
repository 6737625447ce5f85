"""The paper's analyses (section V) as tables (``analysis``), the source-selection comparison
(``selection``), the gain of transfer compared across networks (``across_networks``),
critical-difference diagrams (``critical_difference``), their figures (``figures``) and the
published results they are compared with (``published``), and the paper's claims checked on
its published results and on a run (``paper_claims``)."""
