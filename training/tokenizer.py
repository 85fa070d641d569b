"""Byte-level BPE for the proxy token pools: train, save, load, encode documents into one flat array.

A token pool is every document's ids followed by the end-of-text id, concatenated into one 1-D array (one per
super-cluster), so proxy runs can sample windows from it, memory-mapped, without re-tokenizing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import AutoTokenizer, PreTrainedTokenizerBase, PreTrainedTokenizerFast

log = logging.getLogger(__name__)

EOT = "<|endoftext|>"  # GPT-2's document separator; doubles as eos, bos and pad (there is no padding in pools)


def train_bpe(texts: Iterable[str], vocab_size: int = 4096, min_frequency: int = 2) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE on ``texts`` (any iterable, read once). Same texts -> same vocabulary and merges.

    Byte-level means every string round-trips: unseen characters fall back to their UTF-8 bytes, which are all in
    the initial alphabet, so ``decode(encode(x)) == x`` with no unknown token.
    """
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)  # a prefix space would break round-trips
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=[EOT],  # id 0
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # all 256 bytes, seen in the texts or not
        show_progress=False,
    )
    bpe.train_from_iterator(texts, trainer=trainer)
    tok = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        eos_token=EOT,
        bos_token=EOT,
        pad_token=EOT,
        clean_up_tokenization_spaces=False,  # "a ." must decode to "a .", not "a."
    )
    log.info("trained byte-level BPE: %d tokens (asked for %d)", len(tok), vocab_size)
    return tok


def save_tokenizer(tok: PreTrainedTokenizerBase, path: str | Path) -> None:
    """Write ``tok`` as a Hugging Face tokenizer folder (tokenizer.json + tokenizer_config.json)."""
    tok.save_pretrained(str(path))


def load_tokenizer(path: str | Path) -> PreTrainedTokenizerBase:
    """Load any Hugging Face tokenizer folder (ours or another's) from disk; never touches the network."""
    return AutoTokenizer.from_pretrained(str(path), local_files_only=True)


def encode_documents(tok: PreTrainedTokenizerBase, texts: list[str]) -> np.ndarray:
    """One flat token pool: each document's ids, then the eos id, concatenated in order.

    dtype is uint16 when the vocabulary fits (half the disk and page cache of uint32), else uint32.
    """
    if tok.eos_token_id is None:
        raise ValueError("tokenizer has no eos token; set tok.eos_token (train_bpe sets <|endoftext|>)")
    dtype = np.uint16 if len(tok) <= 65535 else np.uint32
    if not texts:
        return np.zeros(0, dtype=dtype)
    ids = tok(list(texts), add_special_tokens=False, return_attention_mask=False)["input_ids"]
    lengths = np.fromiter((len(x) + 1 for x in ids), dtype=np.int64, count=len(ids))  # +1: the eos
    pool = np.empty(int(lengths.sum()), dtype=dtype)
    ends = np.cumsum(lengths)
    for doc_ids, end, n in zip(ids, ends, lengths, strict=True):
        pool[end - n : end - 1] = doc_ids
    pool[ends - 1] = tok.eos_token_id
    return pool
