"""Teacher / student LMs: pretraining learns, fine-tuning learns only the completions, checkpoints round-trip.

Everything is tiny and trained here (a 300-token BPE, 1-2 layer 32-wide Llamas, a few hundred steps): seconds.
"""

from __future__ import annotations

import json
import string

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from training.lm import (
    IGNORE,
    MARKER,
    LMConfig,
    LoRALinear,
    collate,
    completion_loss,
    completion_nll,
    encode_pairs,
    finetune_completion_only,
    fingerprint,
    load_checkpoint,
    new_model,
    pretrain,
    prompt_ids,
    save_checkpoint,
)
from training.proxy import next_token_loss
from training.sampling import SampleConfig, generate
from training.tokenizer import encode_documents, train_bpe

LETTERS = string.ascii_lowercase[:8]
PAIRS = [(f"{c}>", c.upper()) for c in LETTERS]  # the mapping a fine-tune must learn: a> -> A, b> -> B, ...
TINY = LMConfig(n_layer=1, n_head=2, n_embd=32, block_size=32, batch_size=8, lr=1e-2, warmup_steps=5)


@pytest.fixture(scope="module", autouse=True)
def _single_thread(one_thread):
    """Before the module's model fixtures: they train in one thread too."""


@pytest.fixture(scope="module")
def tok():
    texts = [" ".join(f"{p}{c}" for p, c in PAIRS), "the quick brown fox jumps over the lazy dog"] * 10
    return train_bpe(texts, vocab_size=300)


def test_new_model_is_seeded_and_leaves_the_global_rng_alone(tok):
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    a, b = new_model(len(tok), TINY), new_model(len(tok), TINY)
    assert torch.equal(torch.rand(1), expected_next)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    c = new_model(len(tok), LMConfig(**{**TINY.__dict__, "seed": 1}))
    assert not torch.equal(a.model.embed_tokens.weight, c.model.embed_tokens.weight)


def test_pretraining_learns_a_repeated_pattern(tok):
    tokens = encode_documents(tok, ["abcdefgh " * 400])
    model = new_model(len(tok), TINY)
    window = torch.from_numpy(tokens[:33].astype(np.int64))[None]  # (1, 33)
    with torch.no_grad():
        before = next_token_loss(model, window[:, :-1], window[:, 1:]).item()
    metrics = pretrain(model, tokens, LMConfig(**{**TINY.__dict__, "steps": 60}))
    with torch.no_grad():
        after = next_token_loss(model, window[:, :-1], window[:, 1:]).item()
    assert before > 4.0  # ~log(300): it knew nothing
    assert after < 0.3 and metrics["train_loss"] < 0.3


def test_prompt_tokens_are_not_targets(tok):
    (ids, labels), *_ = encode_pairs(tok, [("a> ", "A and more")])
    n_prompt = len(prompt_ids(tok, ["a> "])[0])
    assert labels[:n_prompt] == [IGNORE] * n_prompt
    assert labels[n_prompt:] == ids[n_prompt:]  # the completion and its eos are targets, as they are
    assert ids[-1] == tok.eos_token_id
    assert tok.decode(ids[n_prompt:-1]) == "A and more"


def test_collate_right_pads_with_masked_ignored_positions(tok):
    examples = encode_pairs(tok, [("a>", "A"), ("the quick brown fox>", "jumps over")])
    batch = collate(examples, pad_id=tok.eos_token_id)
    short = len(examples[0][0])
    assert batch["input_ids"].shape == batch["labels"].shape == batch["attention_mask"].shape
    assert batch["attention_mask"][0, short:].sum() == 0 and batch["attention_mask"][0, :short].all()
    assert (batch["labels"][0, short:] == IGNORE).all()


def test_the_loss_counts_completion_tokens_only(tok):
    model = new_model(len(tok), TINY)
    batch = collate(encode_pairs(tok, [("a>", "A"), ("the quick brown fox>", "jumps over")]), tok.eos_token_id)
    with torch.no_grad():
        loss = completion_loss(model, batch)
        logits = model(input_ids=batch["input_ids"]).logits
        terms = []
        for row in range(2):
            for t in range(1, batch["input_ids"].shape[1]):
                if batch["labels"][row, t] != IGNORE:
                    terms.append(-F.log_softmax(logits[row, t - 1], -1)[batch["labels"][row, t]])
    assert len(terms) == 1 + 1 + len(tok("jumps over")["input_ids"]) + 1  # "A", eos, the words, eos
    assert loss.item() == pytest.approx(torch.stack(terms).mean().item(), rel=1e-5)


def test_full_finetune_learns_the_mapping_and_to_stop(tok):
    model = new_model(len(tok), TINY)
    before = completion_nll(model, tok, PAIRS)
    metrics = finetune_completion_only(model, tok, PAIRS, LMConfig(**{**TINY.__dict__, "steps": 80}))
    after = completion_nll(model, tok, PAIRS)
    assert before > 4.0 and after < 0.1 and metrics["train_loss"] < 0.2
    answers = generate(model, tok, [p for p, _ in PAIRS], 1, SampleConfig(temperature=0, max_new_tokens=5))
    assert [a[0] for a in answers] == [c for _, c in PAIRS]  # exactly the letter: it learned to emit eos


def test_lora_finetune_trains_only_q_and_v_then_merges_them(tok):
    model = new_model(len(tok), TINY)
    finetune_completion_only(model, tok, PAIRS, LMConfig(**{**TINY.__dict__, "steps": 80}))  # a -> A, ...
    shifted = [(p, PAIRS[(i + 1) % len(PAIRS)][1]) for i, (p, _) in enumerate(PAIRS)]  # a -> B, b -> C, ...
    start = {name: p.detach().clone() for name, p in model.named_parameters()}
    before = completion_nll(model, tok, shifted)
    finetune_completion_only(
        model, tok, shifted, LMConfig(**{**TINY.__dict__, "steps": 80, "lora_rank": 4}), lora=True
    )
    assert before > 2.0 and completion_nll(model, tok, shifted) < 0.2
    assert not any(isinstance(m, LoRALinear) for m in model.modules())  # merged back: a plain Llama again
    assert all(p.requires_grad for p in model.parameters())
    changed = {name for name, p in model.named_parameters() if not torch.equal(p, start[name])}
    assert changed == {"model.layers.0.self_attn.q_proj.weight", "model.layers.0.self_attn.v_proj.weight"}


def test_checkpoint_round_trip_gives_the_same_logits_and_marker_last(tok, tmp_path):
    model = new_model(len(tok), TINY)
    record = {"config": TINY.__dict__, "data": {"fingerprint": fingerprint(PAIRS)}, "metrics": {"nll": 1.0}}
    out = save_checkpoint(model, tok, tmp_path / "ckpt", record)
    files = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", MARKER} <= set(files)
    assert files[MARKER] == max(files.values())  # written last
    loaded, loaded_tok, loaded_record = load_checkpoint(out)
    assert loaded_record["data"] == record["data"] and loaded_record["n_params"] > 0
    ids = torch.tensor(prompt_ids(loaded_tok, ["a> the quick"]))
    with torch.no_grad():
        assert torch.equal(model(input_ids=ids).logits, loaded(input_ids=ids).logits)
    assert json.loads((out / MARKER).read_text())["metrics"] == {"nll": 1.0}


def test_an_unfinished_or_undescribed_checkpoint_is_refused(tok, tmp_path):
    model = new_model(len(tok), TINY)
    with pytest.raises(ValueError, match="data"):
        save_checkpoint(model, tok, tmp_path / "a", {"config": {}, "metrics": {}})
    out = save_checkpoint(model, tok, tmp_path / "b", {"config": {}, "data": {}, "metrics": {}})
    (out / MARKER).unlink()
    with pytest.raises(FileNotFoundError, match="never finished"):
        load_checkpoint(out)


def test_fingerprint_changes_with_the_data_only():
    assert fingerprint(PAIRS) == fingerprint(list(PAIRS))
    assert fingerprint(PAIRS) != fingerprint(PAIRS[::-1])
    assert fingerprint(PAIRS) != fingerprint([(p, c + " ") for p, c in PAIRS])
