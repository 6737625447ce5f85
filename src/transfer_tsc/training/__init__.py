"""Training a network (section III-A): the recipe (``recipe``: Adam, plateau schedule,
best-by-train-loss), the Keras backend (``backend``), the engines that run epochs (``engines``:
Keras step by step, or one compiled JAX call), resumable state (``checkpoints``), the training
loop (``loop``), the GPU memory plan (``gpu_plan``), and the paper's two experiments:
pre-training on a source and fine-tuning on a target (``transfer``)."""
