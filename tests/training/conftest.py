"""Fixtures the tiny-model tests share."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(scope="module")
def one_thread():
    """Tiny models gain nothing from threads, and on a busy machine two threads spin-wait each other 30x slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def arithmetic_tok():
    from training.tokenizer import train_bpe

    return train_bpe([f"{a}+{b}={a + b}" for a in range(30) for b in range(30)], vocab_size=300)
