"""Torch plumbing shared by the learners: checkpoints, devices and seeds, filtered ranking."""
