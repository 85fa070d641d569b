"""Teacher and student LMs for the downstream stage: pretrain, completion-only fine-tune, checkpoints, trace NLL.

The models are Hugging Face causal LMs. The demo builds tiny Llamas from scratch with the proxy's ``build_model``
(same architecture as the mixture-search proxies), pretrains one on a flat token array to get a base model,
then fine-tunes it on a task's worked solutions to get a teacher; students are fine-tuned on teacher traces the
same way. Any other causal LM path works too (``load_model``).

Fine-tuning is completion-only: a pair (prompt, completion) is tokenized as prompt ids, then completion ids, then
eos; only the completion and the eos are targets (the prompt's labels are -100). Prompts are tokenized here and
in ``training.sampling`` by the same function, so a model is trained on exactly the token boundaries it is
later prompted with.

Checkpoints describe themselves: ``save_pretrained`` weights and the tokenizer, then ``checkpoint.json``
(config, data fingerprint, metrics, and what the caller adds), written last as the completion marker.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from transformers import AutoModelForCausalLM, PreTrainedModel, PreTrainedTokenizerBase

from training.proxy import (
    ProxyConfig,
    build_model,
    count_params,
    device_and_dtype,
    lr_at,
    mixed_precision,
    next_token_loss,
    sample_mixture_batches,
)
from training.tokenizer import load_tokenizer

log = logging.getLogger(__name__)

IGNORE = -100  # label of a position that is not a target (torch's cross_entropy ignore_index default)
MARKER = "checkpoint.json"  # written last: a folder without it is an unfinished checkpoint
RECORD_KEYS = ("config", "data", "metrics")  # what every checkpoint must say about itself


@dataclass
class LMConfig:
    n_layer: int = 2  # the proxy's depth: the demo's teacher only has to solve small procedural tasks
    n_head: int = 4  # head_dim 32 at n_embd 128
    n_embd: int = 128  # ~1M parameters at vocab 4096; trains in about a minute on CPU
    block_size: int = 256  # longest training sequence (prompt + completion + eos); longer ones are cut
    batch_size: int = 16  # sequences per step
    lr: float = 3e-3  # tiny models need a high peak lr at a few hundred steps; use ~1e-3 or less to fine-tune
    warmup_steps: int = 20  # Adam's second moments settle before the peak lr
    min_lr_ratio: float = 0.1  # cosine decay to 10% of the peak, as in nanoGPT
    weight_decay: float = 0.1  # nanoGPT's value, matrices only
    grad_clip: float = 1.0  # nanoGPT's value
    steps: int = 300  # optimizer steps; one step is one batch, for pretraining and fine-tuning alike
    lora_rank: int = 8  # rank of the LoRA update of q_proj / v_proj when fine-tuning with lora=True
    lora_alpha: float = 16.0  # LoRA scale alpha / rank = 2, the LoRA paper's common setting
    seed: int = 0  # model init, window sampling, example order and LoRA init all derive from it
    device: str = "auto"  # "auto": cuda when present, else cpu; or any torch device string
    dtype: str = "auto"  # "auto": bf16 autocast on cuda, fp32 on cpu; or "float32" / "bfloat16"


def new_model(vocab_size: int, cfg: LMConfig) -> PreTrainedModel:
    """A fresh tiny Llama (the proxy's architecture) seeded by ``cfg.seed``; torch's global RNG is untouched."""
    proxy_cfg = ProxyConfig(
        vocab_size=vocab_size,
        n_layer=cfg.n_layer,
        n_head=cfg.n_head,
        n_embd=cfg.n_embd,
        block_size=cfg.block_size,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        return build_model(proxy_cfg)


# ---------------------------------------------------------------- tokenizing pairs


def prompt_ids(tokenizer: PreTrainedTokenizerBase, prompts: Sequence[str]) -> list[list[int]]:
    """Token ids of each prompt, with the tokenizer's own special tokens (a bos, for tokenizers that add one)."""
    return tokenizer(list(prompts), add_special_tokens=True, return_attention_mask=False)["input_ids"]


def encode_pairs(
    tokenizer: PreTrainedTokenizerBase, pairs: Sequence[tuple[str, str]], max_len: int | None = None
) -> list[tuple[list[int], list[int]]]:
    """(input ids, labels) per pair: prompt + completion + eos, labels -100 on the prompt.

    Prompt and completion are tokenized apart (as at sampling time, where the completion starts after the
    prompt's last token). With ``max_len``, sequences are cut to that length; a pair whose completion is cut
    away entirely has nothing to learn from and is dropped, with a warning that counts them.
    """
    if tokenizer.eos_token_id is None:
        raise ValueError("tokenizer has no eos token; set tokenizer.eos_token (train_bpe sets <|endoftext|>)")
    prompts = prompt_ids(tokenizer, [p for p, _ in pairs])
    completions = tokenizer([c for _, c in pairs], add_special_tokens=False, return_attention_mask=False)
    out, n_dropped = [], 0
    for p, c in zip(prompts, completions["input_ids"], strict=True):
        ids = p + c + [tokenizer.eos_token_id]
        labels = [IGNORE] * len(p) + c + [tokenizer.eos_token_id]
        if max_len is not None:
            ids, labels = ids[:max_len], labels[:max_len]
        if all(label == IGNORE for label in labels[1:]):  # position 0 is never a target
            n_dropped += 1
            continue
        out.append((ids, labels))
    if n_dropped:
        log.warning("dropped %d of %d pairs whose prompt fills max_len=%s", n_dropped, len(pairs), max_len)
    return out


def collate(examples: Sequence[tuple[list[int], list[int]]], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-pad to the longest example: input_ids, attention_mask (0 on padding) and labels (-100 on padding)."""
    T = max(len(ids) for ids, _ in examples)
    input_ids = torch.full((len(examples), T), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), T), IGNORE, dtype=torch.long)
    attention_mask = torch.zeros((len(examples), T), dtype=torch.long)
    for i, (ids, lab) in enumerate(examples):
        input_ids[i, : len(ids)] = torch.tensor(ids)
        labels[i, : len(lab)] = torch.tensor(lab)
        attention_mask[i, : len(ids)] = 1
    return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}


def completion_loss(model: nn.Module, batch: dict[str, torch.Tensor], reduction: str = "mean") -> torch.Tensor:
    """Cross-entropy of each target token given the tokens before it; -100 labels are not counted."""
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], use_cache=False).logits
    logits = logits[:, :-1].float()  # (B, T-1, vocab): position t predicts token t+1
    targets = batch["labels"][:, 1:]  # (B, T-1)
    return F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=IGNORE, reduction=reduction)


# ---------------------------------------------------------------- training


def pretrain(model: PreTrainedModel, tokens: np.ndarray, cfg: LMConfig) -> dict[str, float]:
    """Next-token training on random windows of a flat token array (e.g. a proxy token pool), in place.

    Runs cfg.steps steps of cfg.batch_size windows of cfg.block_size tokens. Returns metrics.
    """
    if len(tokens) < cfg.block_size + 1:
        raise ValueError(f"{len(tokens)} tokens are fewer than block_size + 1 = {cfg.block_size + 1}")
    n_tokens = cfg.steps * cfg.batch_size * cfg.block_size
    windows = sample_mixture_batches([tokens], [1.0], n_tokens, cfg.block_size, cfg.batch_size, cfg.seed)

    def loss_fn(batch: torch.Tensor) -> torch.Tensor:
        return next_token_loss(model, batch[:, :-1], batch[:, 1:])  # (B, T) inputs, (B, T) targets

    return _fit(model, windows, loss_fn, cfg)


def finetune_completion_only(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    pairs: Sequence[tuple[str, str]],
    cfg: LMConfig,
    lora: bool = False,
) -> dict[str, float]:
    """Fine-tune ``model`` in place on (prompt, completion) pairs with the loss on completion tokens only.

    Batches of cfg.batch_size pairs, right-padded, in a fresh random order each pass (seeded), for cfg.steps
    steps. With ``lora``, only rank-cfg.lora_rank updates of the attention q_proj / v_proj are trained, then
    merged into the weights, so the result is a plain model of the same class (``save_pretrained`` as usual).
    """
    examples = encode_pairs(tokenizer, pairs, max_len=cfg.block_size)
    if not examples:
        raise ValueError(
            f"none of the {len(pairs)} pairs has a completion token within block_size={cfg.block_size}"
        )
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    batches = _example_batches(examples, pad_id, cfg.batch_size, cfg.steps, cfg.seed)
    trainable = {name: p.requires_grad for name, p in model.named_parameters()}
    adapters = _add_lora(model, cfg) if lora else []
    try:
        return _fit(model, batches, lambda batch: completion_loss(model, batch), cfg)
    finally:  # also on failure: never hand back a model with adapters half-applied
        _merge_lora(adapters)
        for name, p in model.named_parameters():
            p.requires_grad_(trainable[name])


def _example_batches(examples, pad_id: int, batch_size: int, n_steps: int, seed: int) -> Iterator[dict]:
    rng = np.random.default_rng(seed)
    order: list[int] = []
    for _ in range(n_steps):
        while len(order) < batch_size:  # a new pass over the examples, shuffled
            order += rng.permutation(len(examples)).tolist()
        take, order = order[:batch_size], order[batch_size:]
        yield collate([examples[i] for i in take], pad_id)


def _fit(model: nn.Module, batches: Iterator, loss_fn: Callable, cfg: LMConfig) -> dict[str, float]:
    """The loop both trainings share: AdamW, warmup + cosine, clipping, bf16 autocast on cuda."""
    device, amp_dtype = device_and_dtype(cfg)
    model.to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": cfg.weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=cfg.lr, betas=(0.9, 0.95))  # beta2 0.95: nanoGPT / GPT-3
    n_trained = sum(p.numel() for p in params)
    log.info("training %d of %d parameters for %d steps on %s", n_trained, count_params(model), cfg.steps, device)

    model.train()
    losses = []
    t0 = time.perf_counter()
    for step, batch in enumerate(batches):
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, cfg.steps, cfg)
        batch = batch.to(device) if torch.is_tensor(batch) else {k: v.to(device) for k, v in batch.items()}
        with mixed_precision(device, amp_dtype):
            loss = loss_fn(batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
        optimizer.step()
        losses.append(loss.detach())  # no .item(): it would sync the GPU every step
    model.eval()
    seconds = time.perf_counter() - t0
    losses = torch.stack(losses).float().cpu()
    metrics = {
        "first_loss": losses[0].item(),
        "train_loss": losses[-10:].mean().item(),  # mean of the last 10 steps
        "steps": float(len(losses)),
        "seconds": seconds,
    }
    log.info("trained in %.1f s: loss %.4f -> %.4f", seconds, metrics["first_loss"], metrics["train_loss"])
    return metrics


# ---------------------------------------------------------------- LoRA (peft is not a dependency)


class LoRALinear(nn.Module):
    """``base(x) + (alpha / rank) * x A^T B^T``, base frozen; B starts at zero, so training starts from base."""

    def __init__(self, base: nn.Linear, rank: int, alpha: float):
        super().__init__()
        self.base = base
        self.scale = alpha / rank
        self.A = nn.Parameter(torch.empty(rank, base.in_features, device=base.weight.device))
        self.B = nn.Parameter(torch.zeros(base.out_features, rank, device=base.weight.device))
        nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))  # nn.Linear's own init, as peft does

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + (x @ self.A.to(x.dtype).T @ self.B.to(x.dtype).T) * self.scale

    @torch.no_grad()
    def merged(self) -> nn.Linear:
        self.base.weight += (self.scale * self.B @ self.A).to(self.base.weight.dtype)  # (out, in)
        return self.base


LORA_TARGETS = ("q_proj", "v_proj")  # the LoRA paper's choice; the names of Llama / Mistral / Qwen attention


def _add_lora(model: nn.Module, cfg: LMConfig) -> list[tuple[nn.Module, str, LoRALinear]]:
    targets = [
        (parent, name, child)
        for parent in model.modules()
        for name, child in parent.named_children()
        if name in LORA_TARGETS and isinstance(child, nn.Linear)
    ]
    if not targets:
        raise ValueError(
            f"no nn.Linear named {LORA_TARGETS} in {type(model).__name__}; fine-tune it fully (lora=False)"
        )
    model.requires_grad_(False)
    adapters = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        for parent, name, child in targets:
            adapter = LoRALinear(child, cfg.lora_rank, cfg.lora_alpha)
            setattr(parent, name, adapter)
            adapters.append((parent, name, adapter))
    return adapters


def _merge_lora(adapters: list[tuple[nn.Module, str, LoRALinear]]) -> None:
    for parent, name, adapter in adapters:
        setattr(parent, name, adapter.merged())


# ---------------------------------------------------------------- evaluation


@torch.no_grad()
def completion_nll(
    model: nn.Module,
    tokenizer: PreTrainedTokenizerBase,
    pairs: Sequence[tuple[str, str]],
    batch_size: int = 16,
) -> float:
    """Mean negative log-likelihood (nats per token) of the completions (and their eos) given the prompts.

    Averaged over all completion tokens of all pairs; exp() of it is the perplexity of one model's traces under
    another model. Runs in the model's own device and dtype; nothing is cut.
    """
    examples = encode_pairs(tokenizer, pairs)
    if not examples:
        raise ValueError("no pairs to score")
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    for i in range(0, len(examples), batch_size):
        batch = {k: v.to(device) for k, v in collate(examples[i : i + batch_size], pad_id).items()}
        total += completion_loss(model, batch, reduction="sum").item()
        count += int((batch["labels"][:, 1:] != IGNORE).sum())
    model.train(was_training)
    return total / count


def fingerprint(pairs: Sequence[tuple[str, str]]) -> str:
    """sha256 of the pairs in order: the data version a checkpoint records when no table version exists."""
    return hashlib.sha256(json.dumps([list(p) for p in pairs], ensure_ascii=False).encode()).hexdigest()


# ---------------------------------------------------------------- checkpoints


def save_checkpoint(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, out_dir: str | Path, record: dict
) -> Path:
    """Write weights, tokenizer, then ``checkpoint.json`` (``record`` + parameter count), last, atomically.

    ``record`` must hold "config", "data" (table versions or a fingerprint) and "metrics", and be JSON-able.
    Rewriting a folder first removes its marker, so a crash mid-write never leaves an old marker on new weights.
    """
    missing = [k for k in RECORD_KEYS if k not in record]
    if missing:
        raise ValueError(f"checkpoint record lacks {missing}; a checkpoint must say {list(RECORD_KEYS)}")
    body = json.dumps({**record, "n_params": count_params(model), "class": type(model).__name__}, indent=2)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).unlink(missing_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    tmp = out / (MARKER + ".tmp")
    tmp.write_text(body)
    os.replace(tmp, out / MARKER)
    return out


def load_checkpoint(path: str | Path) -> tuple[PreTrainedModel, PreTrainedTokenizerBase, dict]:
    """(model, tokenizer, record) of a folder written by ``save_checkpoint``; refuses one without its marker."""
    marker = Path(path) / MARKER
    if not marker.exists():
        raise FileNotFoundError(
            f"{path} has no {MARKER}: the checkpoint was never finished; rerun the job that writes it"
        )
    model, tokenizer = load_model(path)
    return model, tokenizer, json.loads(marker.read_text())


def load_model(path: str | Path) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Any Hugging Face causal LM folder (ours or another's) and its tokenizer, from disk only, in eval mode."""
    model = AutoModelForCausalLM.from_pretrained(str(path), local_files_only=True)
    return model.eval(), load_tokenizer(path)
