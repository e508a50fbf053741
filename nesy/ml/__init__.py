"""Torch plumbing shared by the learners: checkpoints, devices and seeds, filtered ranking, model slots.

Modules: ``checkpoint`` (safetensors + JSON files), ``devices`` (devices, seeds, torchrun
and DDP), ``ranking`` (filtered ranks and metrics), ``config`` (dataclass configs from
dicts with a did-you-mean), ``data`` (id-triple arrays), ``metrics`` (training logs,
early stopping), ``slots`` (model paths and in-memory models).

Importing the package needs no extra: ``ml.slots`` (where model paths and in-memory models
live) is used by the core install. The torch modules (checkpoint, devices, ranking) need
``nesy[neural]`` and are imported only by the learners.
"""
