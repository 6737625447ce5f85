"""What the Snakemake workflow calls: one job per rule (``jobs``), run with its log, quiet
TensorFlow and a memory watchdog (``runner``), finished work kept and recorded (``recovery``),
the workflow's decisions (``plan``) and the Snakemake internals it relies on (``compat``).
Nothing in the package imports this layer."""
