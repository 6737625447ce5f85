"""What the Snakemake workflow calls: one job per rule (``jobs``), run with its log, quiet
TensorFlow and a memory watchdog (``runner``), finished work kept and recorded (``recovery``).
Nothing in the package imports this layer."""
