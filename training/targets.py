"""What a mixture search minimises: target specs, their eval data, and the proxy objective that measures them.

A target is validation text (a held-out slice, a JSONL file) scored by next-token loss, or a multiple-choice task
scored by answer likelihood: the loss of the right answer's tokens against the other choices, given the context.
Several targets average by weight into one objective, lower is better. ``ProxyObjective`` is the picklable
``evaluate(weights, seed)`` the search sends to Dask workers: it memory-maps the pools, trains a proxy, and
returns the objective with every metric.
"""

from __future__ import annotations

import functools
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import torch
import torch.nn.functional as F

from training.proxy import ProxyConfig, train_proxy

log = logging.getLogger(__name__)

KINDS = ("holdout", "text", "choice")


class TargetError(ValueError):
    """A target spec or file that cannot be used; the message says how to fix it."""


@dataclass(frozen=True)
class TargetSpec:
    kind: str  # holdout | text | choice
    arg: str  # holdout: a source ("" = all); text / choice: a path
    weight: float
    name: str  # the metric name: loss/<name>


def parse_target(spec: str) -> TargetSpec:
    """``kind[:arg][@weight]``, e.g. ``holdout``, ``holdout:python-docs``, ``choice:tasks.jsonl@0.5``."""
    body, _, weight = spec.partition("@")
    kind, _, arg = body.partition(":")
    if kind not in KINDS:
        raise TargetError(f"target {spec!r}: kind must be one of {', '.join(KINDS)} (e.g. 'holdout:python-docs')")
    if kind != "holdout" and not arg:
        raise TargetError(f"target {spec!r} needs a file: '{kind}:PATH'")
    try:
        w = float(weight) if weight else 1.0
    except ValueError:
        raise TargetError(f"target {spec!r}: the weight after '@' must be a number") from None
    if w <= 0:
        raise TargetError(f"target {spec!r}: weight must be > 0")
    stem = os.path.splitext(os.path.basename(arg))[0] if kind != "holdout" else arg
    return TargetSpec(kind, arg, w, f"{kind}-{stem}" if stem else kind)


def parse_targets(specs: Sequence[str]) -> list[TargetSpec]:
    if not specs:
        raise TargetError("search.targets is empty; name at least one, e.g. ['holdout'] (see `mixlake config`)")
    targets = [parse_target(s) for s in specs]
    names = [t.name for t in targets]
    if len(set(names)) != len(names):
        raise TargetError(f"targets {list(specs)} repeat a name ({names}); give each file a distinct name")
    return targets


def read_jsonl(path: str, required: Sequence[str]) -> list[dict]:
    """Records of a JSONL target file; a missing file or field fails with the line number."""
    import fsspec

    try:
        with fsspec.open(path, "rt", encoding="utf-8") as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        raise TargetError(f"target file {path} does not exist") from None
    records = []
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            raise TargetError(f"{path}:{i}: not valid JSON ({e.msg})") from None
        missing = [k for k in required if k not in rec]
        if missing:
            raise TargetError(f"{path}:{i}: missing field(s) {missing}; each line needs {list(required)}")
        records.append(rec)
    if not records:
        raise TargetError(f"target file {path} has no records")
    return records


@dataclass
class ChoiceSet:
    """Multiple-choice items as token ids: the proxy scores each choice's tokens given the context."""

    contexts: list[np.ndarray]
    choices: list[list[np.ndarray]]
    answers: list[int]

    @classmethod
    def from_records(cls, records: list[dict], tokenizer) -> ChoiceSet:
        contexts, choices, answers = [], [], []
        for i, rec in enumerate(records):
            opts = rec["choices"]
            if not isinstance(opts, list) or len(opts) < 2 or not 0 <= int(rec["answer"]) < len(opts):
                raise TargetError(f"choice item {i}: needs >= 2 choices and 0 <= answer < len(choices)")
            contexts.append(np.array(tokenizer.encode(rec["context"]), dtype=np.int64))
            # a leading space joins the answer to the context the way running text would
            choices.append([np.array(tokenizer.encode(" " + str(c).lstrip()), dtype=np.int64) for c in opts])
            answers.append(int(rec["answer"]))
        return cls(contexts, choices, answers)

    @torch.no_grad()
    def evaluate(self, model, cfg: ProxyConfig) -> dict[str, float]:
        """loss: mean -log softmax over choices of the right one (by summed token log-likelihood); acc."""
        device = next(model.parameters()).device
        was_training = model.training
        model.eval()
        losses, hits = [], 0
        for ctx, opts, answer in zip(self.contexts, self.choices, self.answers, strict=True):
            scores = torch.stack([_continuation_logprob(model, ctx, c, cfg.block_size, device) for c in opts])
            losses.append(-torch.log_softmax(scores, 0)[answer].item())
            hits += int(scores.argmax().item() == answer)
        model.train(was_training)
        return {"loss": float(np.mean(losses)), "acc": hits / len(self.answers)}


def _continuation_logprob(model, context, continuation, block_size, device) -> torch.Tensor:
    ids = np.concatenate([context, continuation])[-(block_size + 1) :]  # keep the end: the answer must fit
    x = torch.from_numpy(ids[:-1]).to(device)[None]
    y = torch.from_numpy(ids[1:]).to(device)
    logp = F.log_softmax(model(input_ids=x, use_cache=False).logits[0].float(), -1)
    n = min(len(continuation), len(y))
    return logp[-n:].gather(1, y[-n:, None]).sum()


@functools.lru_cache(maxsize=4)
def _pools(paths: tuple[tuple[str, ...], ...]) -> list[np.ndarray]:
    """One token array per super-cluster, memory-mapped once per worker process."""
    out = []
    for shard_paths in paths:
        parts = [np.load(p, mmap_mode="r") for p in shard_paths]
        out.append(parts[0] if len(parts) == 1 else np.concatenate(parts))
    return out


@dataclass
class ProxyObjective:
    """``evaluate(weights, seed) -> {"objective": ..., "loss/<target>": ..., ...}`` for the search's workers."""

    proxy: ProxyConfig
    pool_paths: tuple[tuple[str, ...], ...]  # per super-cluster, in weight order: its .npy shards
    eval_sets: dict[str, np.ndarray | ChoiceSet]  # target name -> tokens or choice items (small: pickled along)
    target_weights: dict[str, float] = field(default_factory=dict)  # name -> weight (default 1 each)
    threads: int = 0  # torch threads per run; 0 leaves torch's default

    def __call__(self, weights: np.ndarray, seed: int) -> dict[str, float]:
        if self.threads:
            torch.set_num_threads(self.threads)
        result = train_proxy(replace(self.proxy, seed=int(seed)), _pools(self.pool_paths), weights, self.eval_sets)
        total = sum(self.target_weights.get(n, 1.0) for n in self.eval_sets)
        objective = sum(self.target_weights.get(n, 1.0) * result.metrics[f"loss/{n}"] for n in self.eval_sets)
        return {
            "objective": objective / total,
            **result.metrics,
            "tokens_per_second": result.tokens_per_second,
            "seconds": result.seconds,
        }
