"""Torch plumbing shared by the learners: checkpoints, devices and seeds, filtered ranking, model slots.

Importing the package needs no extra: ``ml.slots`` (where model paths and in-memory models
live) is used by the core install. The torch modules (checkpoint, devices, ranking) need
``nesy[neural]`` and are imported only by the learners.
"""
