"""Training a network (section III-A): the recipe (Adam, plateau schedule, best-by-train-loss),
the engines that run epochs (Keras step by step, or one compiled JAX call), checkpoints, the
training loop, the GPU memory plan, and the paper's two experiments: pre-training on a source
and fine-tuning on a target (``transfer``)."""
