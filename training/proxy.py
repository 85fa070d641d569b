"""The proxy LM of CLIMB's mixture search: a tiny causal LM trained for a fixed token budget on one mixture.

Each search trial samples training windows from the super-cluster token pools with the trial's weights, trains a
fresh model from the same seed, and reports its loss on the eval sets; only the mixture differs between trials.

The model is a Llama (``LlamaForCausalLM`` from a ``LlamaConfig``) rather than GPT-2: the models a chosen
mixture is for are Llama-style decoders (RoPE, RMSNorm, SwiGLU), so the proxy ranks mixtures with the same
inductive biases, and the same config scales to the 60M-350M GPU proxies of the paper by changing four numbers.
RoPE also means no learned position table to spend a 200k-token budget on.

The loop reads top to bottom: data, model, optimizer, schedule, loop, eval, checkpoint.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from transformers import LlamaConfig, LlamaForCausalLM

log = logging.getLogger(__name__)


@dataclass
class ProxyConfig:
    vocab_size: int  # len(tokenizer); no default, since a wrong one mis-sizes the embedding without an error
    n_layer: int = 2  # enough depth for induction-style copying; CLIMB's ranking needs ordering, not quality
    n_head: int = 4  # head_dim 32 at n_embd 128
    n_embd: int = 128  # ~1M parameters at vocab 4096: a proxy trains in seconds on CPU
    block_size: int = 128  # spans a few sentences; attention cost stays small next to the MLPs and the head
    batch_size: int = 16  # 16 x 128 = 2,048 tokens per step -> ~98 steps for the default budget
    lr: float = 3e-3  # tiny models tolerate (and need, at ~100 steps) a high peak learning rate
    warmup_steps: int = 20  # ~20% of a default run: Adam's second moments settle before the peak lr
    min_lr_ratio: float = 0.1  # cosine decays to 10% of the peak, as in Chinchilla and nanoGPT
    weight_decay: float = 0.1  # GPT-3 / nanoGPT value, applied to matrices only
    grad_clip: float = 1.0  # nanoGPT's value; guards the high lr against early spikes
    train_tokens: int = 200_000  # the fixed budget every trial gets, so losses compare across mixtures
    eval_tokens: int = 20_000  # per eval set: ~156 blocks of 128, enough for a stable mean loss
    seed: int = 0  # same seed -> same init and same windows; only the mixture differs between trials
    device: str = "auto"  # "auto": cuda when present, else cpu; or any torch device string
    dtype: str = "auto"  # "auto": bf16 autocast on cuda, fp32 on cpu; or "float32" / "bfloat16"


@dataclass
class ProxyResult:
    metrics: dict[str, float]  # "loss/<eval set>", "ppl/<eval set>", "train_loss" (mean of the last 10 steps)
    tokens_per_second: float  # training tokens / seconds of the training loop (no model build, no eval)
    n_params: int  # unique parameters (the tied embedding counted once)
    seconds: float  # wall time of the whole call: build, train, eval, checkpoint
    steps: int


def build_model(cfg: ProxyConfig) -> LlamaForCausalLM:
    """A fresh Llama from ``cfg``; its initialisation draws from torch's global RNG (seed it first)."""
    config = LlamaConfig(
        vocab_size=cfg.vocab_size,
        hidden_size=cfg.n_embd,
        intermediate_size=4 * cfg.n_embd,  # GPT-2's MLP ratio; SwiGLU makes it ~1.5x a GPT-2 MLP in parameters
        num_hidden_layers=cfg.n_layer,
        num_attention_heads=cfg.n_head,
        num_key_value_heads=cfg.n_head,  # plain multi-head attention; GQA saves nothing at this size
        max_position_embeddings=cfg.block_size,
        tie_word_embeddings=True,  # at vocab 4096 x 128 the embedding is half the model; untied it would be 2/3
        bos_token_id=None,  # the proxy never generates; token ids belong to the tokenizer
        eos_token_id=None,
    )
    return LlamaForCausalLM(config)


def count_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())  # parameters() yields a tied weight once


def sample_mixture_batches(
    pools: Sequence[np.ndarray],
    weights: Sequence[float],
    n_tokens: int,
    block_size: int,
    batch_size: int,
    seed: int,
) -> Iterator[torch.Tensor]:
    """Yield (batch_size, block_size + 1) int64 batches of windows drawn from the mixture until n_tokens are used.

    Each row comes from pool i with probability weights[i], at a uniform random offset in that pool. A batch uses
    batch_size * block_size training tokens (the targets); batches are yielded until at least n_tokens are used,
    so the budget is overshot by less than one batch. Same arguments -> same batches. Arguments are checked here,
    before the first batch, not lazily.
    """
    p = _check_weights(weights, len(pools))
    window = block_size + 1
    for i, (pool, w) in enumerate(zip(pools, p, strict=True)):
        if pool.ndim != 1 or not np.issubdtype(pool.dtype, np.integer):
            raise ValueError(
                f"pool {i} is {pool.dtype} with shape {pool.shape}; pools are 1-D integer token arrays"
            )
        if w > 0 and len(pool) < window:
            raise ValueError(
                f"pool {i} has {len(pool)} tokens, fewer than block_size + 1 = {window}; "
                "give it weight 0, merge it into another pool, or lower block_size"
            )
    n_batches = -(-n_tokens // (batch_size * block_size))  # ceil
    return _mixture_batches(pools, p, n_batches, window, batch_size, seed)


def _mixture_batches(pools, p, n_batches, window, batch_size, seed) -> Iterator[torch.Tensor]:
    rng = np.random.default_rng(seed)
    lengths = np.array([len(pool) for pool in pools])
    for _ in range(n_batches):
        which = rng.choice(len(pools), size=batch_size, p=p)  # (B,) pool of each row
        offsets = rng.integers(0, lengths[which] - window + 1)  # (B,) uniform start within that pool
        rows = [np.asarray(pools[k][o : o + window]) for k, o in zip(which, offsets, strict=True)]
        yield torch.from_numpy(np.stack(rows).astype(np.int64))  # (B, T + 1)


def _check_weights(weights: Sequence[float], n_pools: int) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (n_pools,):
        raise ValueError(f"got weights of shape {w.shape} for {n_pools} pools; give exactly one weight per pool")
    if not np.isfinite(w).all() or (w < 0).any():
        raise ValueError(
            f"weights must be finite and >= 0, got {w.tolist()}; clip negatives to 0, then renormalize"
        )
    if abs(w.sum() - 1.0) > 1e-6:
        raise ValueError(f"weights sum to {w.sum():.6g}, not 1; divide them by their sum (w / w.sum())")
    return w / w.sum()  # exact normalisation for rng.choice


def lr_at(step: int, n_steps: int, cfg: ProxyConfig) -> float:
    """Linear warmup to cfg.lr over warmup_steps, then cosine decay to min_lr_ratio * lr at the last step."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = (step - cfg.warmup_steps) / max(1, n_steps - 1 - cfg.warmup_steps)  # 0 -> 1
    min_lr = cfg.min_lr_ratio * cfg.lr
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0))) * (cfg.lr - min_lr)


def next_token_loss(model: LlamaForCausalLM, x: torch.Tensor, y: torch.Tensor, reduction: str = "mean"):
    logits = model(input_ids=x, use_cache=False).logits  # (B, T, vocab)
    return F.cross_entropy(logits.float().flatten(0, 1), y.flatten(), reduction=reduction)


@torch.no_grad()
def evaluate_loss(model: LlamaForCausalLM, tokens: np.ndarray, cfg: ProxyConfig) -> float:
    """Mean next-token loss over the first eval_tokens targets of ``tokens`` (rounded down to whole blocks).

    Blocks do not overlap: block i predicts tokens[i*T + 1 : (i+1)*T + 1] from tokens[i*T : (i+1)*T].
    """
    device, amp_dtype = device_and_dtype(cfg)
    T = cfg.block_size
    n_blocks = min(cfg.eval_tokens, len(tokens) - 1) // T
    if n_blocks == 0:
        raise ValueError(f"an eval set of {len(tokens)} tokens is shorter than block_size + 1 = {T + 1}")
    if len(tokens) - 1 < cfg.eval_tokens:  # a noisier mean, not a wrong one: say so, and go on
        log.warning("eval set has %d tokens, fewer than eval_tokens=%d", len(tokens), cfg.eval_tokens)
    ids = torch.from_numpy(np.asarray(tokens[: n_blocks * T + 1]).astype(np.int64))
    x_all, y_all = ids[:-1].view(n_blocks, T), ids[1:].view(n_blocks, T)  # (N, T) each, y shifted by one
    was_training = model.training
    model.eval()
    total = torch.zeros((), device=device)
    for i in range(0, n_blocks, cfg.batch_size):
        x, y = x_all[i : i + cfg.batch_size].to(device), y_all[i : i + cfg.batch_size].to(device)
        with mixed_precision(device, amp_dtype):
            total += next_token_loss(model, x, y, reduction="sum")
    model.train(was_training)
    return (total / (n_blocks * T)).item()


def train_proxy(
    cfg: ProxyConfig,
    pools: Sequence[np.ndarray],
    weights: Sequence[float],
    eval_sets: dict[str, np.ndarray],
    out_dir: str | Path | None = None,
) -> ProxyResult:
    """Train a fresh proxy on the mixture ``weights`` over ``pools`` and evaluate it on each of ``eval_sets``.

    An eval set is a token array (next-token loss and perplexity) or any object with ``evaluate(model, cfg) ->
    {metric: value}`` (a multiple-choice task: ``loss/<name>`` and ``acc/<name>``).

    With ``out_dir``, the model is saved there (``save_pretrained``) with a ``proxy.json`` beside it (config,
    weights, metrics), written last.
    """
    t_start = time.perf_counter()
    device, amp_dtype = device_and_dtype(cfg)
    torch.manual_seed(cfg.seed)  # model init; the data windows are seeded separately below

    for name, tokens in eval_sets.items():  # fail before training, not after
        if isinstance(tokens, np.ndarray) and len(tokens) < cfg.block_size + 1:
            raise ValueError(f"eval set {name!r} has {len(tokens)} tokens, shorter than block_size + 1")

    # data
    tokens_per_step = cfg.batch_size * cfg.block_size
    n_steps = -(-cfg.train_tokens // tokens_per_step)
    batches = sample_mixture_batches(pools, weights, cfg.train_tokens, cfg.block_size, cfg.batch_size, cfg.seed)

    # model
    model = build_model(cfg).to(device)
    n_params = count_params(model)
    log.info("proxy: %d parameters, %d steps of %d tokens on %s", n_params, n_steps, tokens_per_step, device)

    # optimizer: weight decay on matrices (incl. the embedding), none on norms
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": cfg.weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=cfg.lr, betas=(0.9, 0.95))  # beta2 0.95: nanoGPT / GPT-3

    # loop
    model.train()
    losses = []
    t_loop = time.perf_counter()
    for step, batch in enumerate(batches):
        lr = lr_at(step, n_steps, cfg)
        for group in optimizer.param_groups:
            group["lr"] = lr
        batch = batch.to(device, non_blocking=True)
        x, y = batch[:, :-1], batch[:, 1:]  # (B, T) inputs, (B, T) targets shifted by one
        with mixed_precision(device, amp_dtype):
            loss = next_token_loss(model, x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        optimizer.step()
        losses.append(loss.detach())  # no .item() here: it would sync the GPU every step
        if step % 25 == 0 and log.isEnabledFor(logging.DEBUG):  # .item() syncs: only when someone reads it
            log.debug("step %d/%d lr %.2e loss %.4f", step, n_steps, lr, loss.item())
    if device.type == "cuda":
        torch.cuda.synchronize()
    loop_seconds = time.perf_counter() - t_loop

    # eval
    metrics = {"train_loss": torch.stack(losses[-10:]).mean().item()}
    for name, tokens in eval_sets.items():
        if hasattr(tokens, "evaluate"):  # a task (training.targets.ChoiceSet): loss and accuracy
            for key, value in tokens.evaluate(model, cfg).items():
                metrics[f"{key}/{name}"] = value
            continue
        loss = evaluate_loss(model, tokens, cfg)
        metrics[f"loss/{name}"] = loss
        metrics[f"ppl/{name}"] = math.exp(loss)

    result = ProxyResult(
        metrics=metrics,
        tokens_per_second=n_steps * tokens_per_step / loop_seconds,
        n_params=n_params,
        seconds=0.0,
        steps=n_steps,
    )

    # checkpoint
    if out_dir is not None:
        model.save_pretrained(out_dir)
    result.seconds = time.perf_counter() - t_start
    if out_dir is not None:
        record = {
            "config": asdict(cfg),
            "weights": [float(w) for w in weights],
            "pool_tokens": [len(p) for p in pools],
            **asdict(result),
        }
        (Path(out_dir) / "proxy.json").write_text(json.dumps(record, indent=2))  # last: marks it complete
    log.info("proxy done in %.1f s (%.0f tokens/s): %s", result.seconds, result.tokens_per_second, metrics)
    return result


def bare_torch_loop(cfg: ProxyConfig, pools: Sequence[np.ndarray], weights: Sequence[float]) -> float:
    """Tokens/s of the plainest loop over the same model and batches: constant lr, no clipping, no eval."""
    device, amp_dtype = device_and_dtype(cfg)
    torch.manual_seed(cfg.seed)
    model = build_model(cfg).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr)
    batches = sample_mixture_batches(pools, weights, cfg.train_tokens, cfg.block_size, cfg.batch_size, cfg.seed)
    n_tokens = 0
    t0 = time.perf_counter()
    for batch in batches:
        batch = batch.to(device)
        with mixed_precision(device, amp_dtype):
            loss = next_token_loss(model, batch[:, :-1], batch[:, 1:])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        n_tokens += batch.shape[0] * (batch.shape[1] - 1)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return n_tokens / (time.perf_counter() - t0)


def device_and_dtype(cfg: ProxyConfig) -> tuple[torch.device, torch.dtype]:
    """The device cfg names ("auto": cuda when there is one) and the compute dtype (bf16 on cuda, fp32 on cpu)."""
    if cfg.device == "auto":
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        device = torch.device(cfg.device)
    dtypes = {"float32": torch.float32, "bfloat16": torch.bfloat16}
    if cfg.dtype == "auto":
        return device, torch.bfloat16 if device.type == "cuda" else torch.float32
    if cfg.dtype not in dtypes:
        raise ValueError(f"dtype={cfg.dtype!r}; use 'auto', 'float32' or 'bfloat16'")
    return device, dtypes[cfg.dtype]


def mixed_precision(device: torch.device, dtype: torch.dtype) -> AbstractContextManager:
    """Autocast to dtype on device for the forward pass; a no-op for float32."""
    # weights stay fp32; only the forward runs in bf16 (the loss is computed in fp32 in next_token_loss)
    return nullcontext() if dtype == torch.float32 else torch.autocast(device.type, dtype=dtype)
