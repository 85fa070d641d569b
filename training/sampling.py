"""Batched sampling from causal LMs with KV caches: temperature / top-p here, antidistillation on the same loop.

``sample_with`` is the one decoding loop. It left-pads a batch of prompts, runs every model it is given once
per step on the new token (each with its own ``DynamicCache``), hands their next-token logits to a scoring
function, and samples from the scores: temperature sampling passes one model and ``log_softmax / T``;
antidistillation (``training.antidistill``) passes the teacher and two perturbed proxies. Since both go through
the same loop, the same seed draws the same random numbers in the same order, and antidistillation with
lambda = 0 reproduces temperature sampling token for token.

Randomness comes from a ``torch.Generator`` per batch seeded from (seed, batch start): same models, prompts, n
and config -> same texts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from transformers import DynamicCache, PreTrainedTokenizerBase

from training.lm import prompt_ids

log = logging.getLogger(__name__)

ScoresFn = Callable[[list[torch.Tensor]], torch.Tensor]  # each model's (B, V) fp32 logits -> (B, V) scores


@dataclass
class SampleConfig:
    temperature: float = 1.0  # the model's own distribution: what pass@k coverage measures; 0 means greedy
    top_p: float = 0.95  # the antidistillation paper's value: cuts the tail of junk tokens; 1.0 turns it off
    max_new_tokens: int = 128  # a worked solution of the demo's tasks fits with room to spare
    min_new_tokens: int = 0  # eos is forbidden before this many tokens (benchmarks set it to max_new_tokens)
    seed: int = 0  # same seed, same samples (one generator per batch, seeded from it)
    batch_size: int = 32  # rows (prompt x sample) decoded together; the KV caches grow with it
    stop: tuple[str, ...] = ()  # a row also ends at any of these strings; the text is cut before it


class DecodeSettings(Protocol):
    """The fields of a sampling config the loop reads (SampleConfig and AntidistillConfig both have them)."""

    top_p: float
    max_new_tokens: int
    min_new_tokens: int
    seed: int
    batch_size: int
    stop: tuple[str, ...]


def generate(
    model: nn.Module, tokenizer: PreTrainedTokenizerBase, prompts: Sequence[str], n: int, cfg: SampleConfig
) -> list[list[str]]:
    """``n`` completions per prompt, in prompt order: temperature / top-p sampling, or greedy at temperature 0."""
    if cfg.temperature < 0:
        raise ValueError(f"temperature={cfg.temperature}; use a value > 0, or 0 for greedy decoding")
    if cfg.temperature == 0:
        return sample_with([model], lambda logits: logits[0], tokenizer, prompts, n, cfg, greedy=True)

    def scores(logits: list[torch.Tensor]) -> torch.Tensor:
        return F.log_softmax(logits[0], dim=-1) / cfg.temperature  # (B, V); antidistill_scores at lambda = 0

    return sample_with([model], scores, tokenizer, prompts, n, cfg)


def top_p_filter(scores: torch.Tensor, top_p: float) -> torch.Tensor:
    """Keep the smallest set of most likely tokens whose probability reaches ``top_p``; the rest get -inf.

    The most likely token is always kept, so a tiny ``top_p`` is greedy decoding. ``scores`` is (B, V).
    """
    if not 0 < top_p <= 1:
        raise ValueError(f"top_p={top_p}; it must be in (0, 1] (1 keeps every token)")
    if top_p == 1:
        return scores
    sorted_scores, order = scores.sort(dim=-1, descending=True)  # (B, V) each
    probs = sorted_scores.softmax(dim=-1)
    mass_before = probs.cumsum(dim=-1) - probs  # probability of the more likely tokens
    sorted_scores = sorted_scores.masked_fill(mass_before >= top_p, float("-inf"))
    return torch.full_like(scores, float("-inf")).scatter(-1, order, sorted_scores)


@torch.inference_mode()
def sample_with(
    models: Sequence[nn.Module],
    scores_fn: ScoresFn,
    tokenizer: PreTrainedTokenizerBase,
    prompts: Sequence[str],
    n: int,
    cfg: DecodeSettings,
    greedy: bool = False,
) -> list[list[str]]:
    """The decoding loop: ``n`` completions per prompt, each model stepped once per token with its own KV cache.

    At each step every model gives its last-position logits (cut to ``len(tokenizer)``, since checkpoints often
    pad their vocabulary), ``scores_fn`` turns them into scores, eos is masked before ``cfg.min_new_tokens``,
    then the token is the argmax (``greedy``) or a draw from softmax(top_p_filter(scores)). A row ends at eos
    or a stop string; the batch ends when all rows have, or at ``cfg.max_new_tokens``.
    """
    if n < 1 or cfg.batch_size < 1 or cfg.max_new_tokens < 1:
        raise ValueError(
            f"n={n}, batch_size={cfg.batch_size}, max_new_tokens={cfg.max_new_tokens}; all must be >= 1"
        )
    if tokenizer.eos_token_id is None:
        raise ValueError("tokenizer has no eos token; set tokenizer.eos_token, or sampling can never stop early")
    device = _common_device(models)
    vocab = len(tokenizer)
    for model in models:
        if model.config.vocab_size < vocab:
            raise ValueError(
                f"{type(model).__name__} has {model.config.vocab_size} output tokens but the tokenizer has "
                f"{vocab}; use the tokenizer the model was trained with"
            )
    ids = prompt_ids(tokenizer, prompts)
    rows = [i for i in range(len(prompts)) for _ in range(n)]  # each prompt n times, in order
    texts: list[list[str]] = [[] for _ in prompts]
    t0, n_tokens = time.perf_counter(), 0
    with _eval_mode(models):
        for start in range(0, len(rows), cfg.batch_size):
            chunk = rows[start : start + cfg.batch_size]
            # a generator per batch, seeded by (seed, batch): a batch's draws do not depend on how many steps
            # the batches before it ran (so a stop string or an early eos changes only its own rows)
            batch_seed = int(np.random.SeedSequence([cfg.seed, start]).generate_state(1)[0])
            generator = torch.Generator(device=device).manual_seed(batch_seed)
            batch = _sample_batch(models, scores_fn, [ids[i] for i in chunk], tokenizer, cfg, greedy, generator)
            for i, tokens in zip(chunk, batch, strict=True):
                n_tokens += len(tokens)
                texts[i].append(_to_text(tokenizer, tokens, cfg.stop))
    log.info("sampled %d rows, %d tokens in %.1f s", len(rows), n_tokens, time.perf_counter() - t0)
    return texts


def _sample_batch(models, scores_fn, batch_ids, tokenizer, cfg, greedy, generator) -> list[list[int]]:
    """Token ids each row generated, up to and including its eos (or stop string, or the length limit)."""
    device = generator.device
    eos, vocab = tokenizer.eos_token_id, len(tokenizer)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos
    input_ids, mask = _left_pad(batch_ids, pad, device)  # (B, L) each; mask 0 on the left padding
    positions = (mask.cumsum(dim=-1) - 1).clamp(min=0)  # (B, L): each prompt starts at position 0
    caches = [DynamicCache(config=model.config) for model in models]
    B = len(batch_ids)
    done = torch.zeros(B, dtype=torch.bool, device=device)
    steps: list[torch.Tensor] = []  # one (B,) tensor of tokens per step
    for step in range(cfg.max_new_tokens):
        logits = [
            _next_logits(model, cache, input_ids, mask, positions)[:, :vocab]  # (B, V)
            for model, cache in zip(models, caches, strict=True)
        ]
        scores = scores_fn(logits)  # (B, V)
        if step < cfg.min_new_tokens:
            scores[:, eos] = float("-inf")
        if greedy:
            token = scores.argmax(dim=-1)  # (B,)
        else:
            probs = top_p_filter(scores, cfg.top_p).softmax(dim=-1)
            token = torch.multinomial(probs, 1, generator=generator).squeeze(-1)  # (B,)
        token = torch.where(done, torch.full_like(token, pad), token)  # finished rows only feed padding
        steps.append(token)
        done |= token == eos
        if cfg.stop:
            done |= _hit_stop(tokenizer, torch.stack(steps, dim=1), cfg.stop, device)
        if bool(done.all()):
            break
        input_ids = token[:, None]  # (B, 1): the caches hold everything before it
        mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=1)  # (B, L + step + 1)
        positions = positions[:, -1:] + 1  # (B, 1)
    generated = torch.stack(steps, dim=1).tolist()  # (B, steps)
    return [row[: row.index(eos) + 1] if eos in row else row for row in generated]


def _next_logits(model, cache, input_ids, mask, positions) -> torch.Tensor:
    """(B, V) fp32 logits of the next token; ``cache`` holds the past and takes in ``input_ids``' keys / values."""
    out = model(
        input_ids=input_ids,  # (B, L) at prefill, (B, 1) after
        attention_mask=mask,  # (B, past + L): 0 on the left padding
        position_ids=positions,  # (B, L): padding does not shift the prompt's positions
        cache=cache,
        use_cache=True,
        logits_to_keep=1,  # only the last position: no (B, L, V) tensor at prefill
    )
    return out.logits[:, -1].float()


def _to_text(tokenizer: PreTrainedTokenizerBase, tokens: list[int], stop: tuple[str, ...]) -> str:
    if tokens and tokens[-1] == tokenizer.eos_token_id:
        tokens = tokens[:-1]
    return cut_at_stop(tokenizer.decode(tokens, skip_special_tokens=True), stop)


def cut_at_stop(text: str, stop: tuple[str, ...]) -> str:
    """``text`` up to (not including) the earliest of the ``stop`` strings found in it."""
    cut = min((i for i in (text.find(s) for s in stop) if i >= 0), default=len(text))
    return text[:cut]


def _hit_stop(tokenizer, generated: torch.Tensor, stop: tuple[str, ...], device) -> torch.Tensor:
    texts = tokenizer.batch_decode(generated.tolist(), skip_special_tokens=True)  # decodes: only with stop strings
    return torch.tensor([any(s in t for s in stop) for t in texts], device=device)


def _left_pad(batch_ids: list[list[int]], pad: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    L = max(len(ids) for ids in batch_ids)
    if L == 0:
        raise ValueError("every prompt in the batch is empty; a prompt needs at least one token")
    input_ids = torch.full((len(batch_ids), L), pad, dtype=torch.long)
    mask = torch.zeros((len(batch_ids), L), dtype=torch.long)
    for i, ids in enumerate(batch_ids):
        if not ids:
            raise ValueError(f"prompt {i} of the batch is empty; a prompt needs at least one token")
        input_ids[i, L - len(ids) :] = torch.tensor(ids)
        mask[i, L - len(ids) :] = 1
    return input_ids.to(device), mask.to(device)


def _common_device(models: Sequence[nn.Module]) -> torch.device:
    devices = {next(model.parameters()).device for model in models}
    if len(devices) != 1:
        raise ValueError(f"models are on {sorted(map(str, devices))}; move them to one device first")
    return devices.pop()


@contextmanager
def _eval_mode(models: Sequence[nn.Module]) -> Iterator[None]:
    was_training = [model.training for model in models]
    for model in models:
        model.eval()
    try:
        yield
    finally:
        for model, flag in zip(models, was_training, strict=True):
            model.train(flag)
