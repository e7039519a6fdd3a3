"""A saved model folder's file names, and the files a network started from one reads: here, importing nothing, so that
the rules name them without the Snakefile importing torch and no config plumbing becomes the train stage's code."""

from __future__ import annotations

MODEL_FILES = ("weights.pt", "model.json")  # what train.saved writes and reads


def init_inputs(init_from: str) -> list[str]:
    """The files a network started from `init_from` (train.init_from) reads: the train, tune and ablation rules' inputs
    and part of the checkpoint's fingerprint, so a new source reruns them. An empty list when it is empty (a fresh
    start)."""
    return [f"{init_from.rstrip('/')}/{name}" for name in MODEL_FILES] if init_from else []
