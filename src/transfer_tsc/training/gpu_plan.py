"""How many fine-tunings of one target the batched engine trains together on one GPU.

The batched engine (``training.train_together``) steps S models on the same batches, stacked
under ``jax.vmap`` (or as graph branches on TensorFlow). Its GPU memory is, per job::

    job(S, L)   = RESERVE_MB + S * model(L)
    model(L)    = FIXED_MB + SAFETY * activations(L)
    activations = B * L * sum(saved_channels) * 4 bytes
    FIXED_MB    = COPIES * params(HEAD_CLASSES) * 4 bytes

with L the target's series length, B the training batch (``training.batch_size``, 16), and the
network's numbers from its spec (``networks.NetworkSpec``): ``saved_channels``, the channels of
the tensors each block keeps for the backward pass (the FCN: its convolution's output, the
batch normalisation's and the ReLU's, 3 x (128 + 256 + 128)), float32, and ``params``; the
fixed part holds the weights, their gradients, Adam's two moments and the best-weights copy
(``COPIES`` = 5) of the FCN's ~0.27 M parameters. ``SAFETY`` = 2 covers the gradients of the
activations and XLA's temporaries. The GPU's usable memory is ``gpu_memory_mb x
MEMORY_FRACTION`` (JAX preallocates 75 % of the GPU, ``XLA_PYTHON_CLIENT_MEM_FRACTION``) and
the job's reserve (the evaluation's predict batches of at most 32,768 time steps x 512 channels
x 4 bytes, about 64 MB per saved tensor, the data, and slack) comes off first; a job of S
models fits when job(S, L) <= gpu_memory_mb x MEMORY_FRACTION:

    group_size = clamp(floor((gpu_memory_mb * MEMORY_FRACTION - RESERVE_MB) / model(L)),
                       1, n_sources)

Memory is in MiB (2**20 bytes, nvidia-smi's unit). The numbers are an estimate, not a
measurement; docs/resources.md ("GPU plan") tabulates them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

# The spec, not the Keras builder: the workflow calls this module while it plans.
from transfer_tsc.networks import FCN_SPEC, NetworkSpec

MIB = 2**20
FLOAT_BYTES = 4
HEAD_CLASSES = 60  # the archive's most classes (ShapesAll): the largest softmax head
COPIES = 5  # weights, gradients, Adam's two moments, best-so-far weights
SAFETY = 2.0  # activations' gradients and XLA temporaries
MEMORY_FRACTION = 0.75  # JAX's default preallocation (XLA_PYTHON_CLIENT_MEM_FRACTION)
RESERVE_MB = 1500.0  # per job: predict batches, the data, slack


def parameters(n_classes: int = HEAD_CLASSES, spec: NetworkSpec = FCN_SPEC) -> int:
    """Parameters of the network with ``n_classes`` outputs: ``spec.params(n_classes)``."""
    return spec.params(n_classes)


def fixed_mb(spec: NetworkSpec = FCN_SPEC) -> float:
    """Memory of one model's weights and training state, whatever the series length:
    COPIES x params(HEAD_CLASSES) x 4 bytes."""
    return COPIES * parameters(HEAD_CLASSES, spec) * FLOAT_BYTES / MIB


def activations_mb(length: int, batch_size: int, spec: NetworkSpec = FCN_SPEC) -> float:
    """Activations one model keeps for the backward pass of one training batch:
    B x L x sum(saved_channels) x 4 bytes."""
    channels = sum(sum(block) for block in spec.saved_channels)
    return batch_size * length * channels * FLOAT_BYTES / MIB


def model_mb(length: int, batch_size: int, spec: NetworkSpec = FCN_SPEC) -> float:
    """GPU memory of one model trained in the batched engine, series of ``length``:
    fixed + SAFETY x activations."""
    return fixed_mb(spec) + SAFETY * activations_mb(length, batch_size, spec)


def usable_mb(gpu_memory_mb: float) -> float:
    """What a job may use of a GPU of ``gpu_memory_mb``: JAX's pool less the job's reserve."""
    return gpu_memory_mb * MEMORY_FRACTION - RESERVE_MB


def group_size_for(
    length: int,
    batch_size: int,
    gpu_memory_mb: float,
    n_sources: int,
    spec: NetworkSpec = FCN_SPEC,
) -> int:
    """How many of a target's ``n_sources`` fine-tunings fit one GPU of ``gpu_memory_mb``
    together: the models that fit its usable memory, at least 1, at most ``n_sources``."""
    if length < 1 or batch_size < 1:
        raise ValueError(f"length and batch size must be positive, not {length}, {batch_size}")
    fits = math.floor(usable_mb(gpu_memory_mb) / model_mb(length, batch_size, spec))
    return max(1, min(max(1, n_sources), fits))


def sent_to_gpu(resources: Mapping[str, object]) -> bool:
    """Whether a rule's resources ask for a GPU: a ``gres`` naming gpu, ``gpu`` above 0 (the
    SLURM executor's two ways) or a ``gpu_mem_mb``."""
    gres = str(resources.get("gres") or "")
    gpus = resources.get("gpu") or 0
    try:
        gpus = float(gpus)
    except (TypeError, ValueError):
        gpus = 1.0  # a value such as "1" spelled oddly still asks for one
    return "gpu" in gres or gpus > 0 or bool(resources.get("gpu_mem_mb"))
