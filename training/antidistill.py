"""Antidistillation sampling (arXiv 2504.13146): teacher traces that are poor training data for a student.

At each step the teacher samples from

    softmax( log p_T(. | x) / tau  +  lam * Delta(. | x) ),
    Delta = [log p_P(. | x; theta + eps u) - log p_P(. | x; theta - eps u)] / (2 eps)

where p_P is a proxy student and u the direction of g, the gradient of the proxy's completion-only loss on
held-out teacher traces (computed once, stored). Delta is a central finite difference of the directional
derivative <grad_theta log p_P(token | x), u>: to first order, how much one step of training on that token
would raise the proxy's held-out loss. lam > 0 favours tokens that would hurt a student that learns from them.

Normalising g (``perturbed_pair(..., normalize=True)``, the default): u = g / ||g|| (global L2 norm over all
parameters). The raw g of a model's mean loss can have any norm (it shrinks as the proxy fits the traces and
grows with parameter count), and both the finite difference and lam scale with it: with a raw g, eps * ||g||
is the real step length and lam silently changes meaning with every new proxy or holdout set. With u, eps is a
step length in parameter space and Delta a per-unit-direction derivative, so one lam compares across proxies.
eps = 1e-2 against parameter norms of ~10 (the demo's proxies) to ~1000 keeps the step tiny yet far above fp32
rounding: on the tests' tiny proxy Delta matches the autograd derivative to ~0.05% at 1e-2 and 1e-3, while 1e-1
is off by curvature (~4%) and 1e-4 by rounding. The paper's reference code perturbs by eps * g with the raw g:
its lam is ours / ||g|| (``save_gradient`` records ||g|| for that conversion), and ``normalize=False`` gives
its convention. The proxies should run in float32: a bf16 weight cannot hold a perturbation this small.

The three models share one tokenizer (``check_same_tokenizer`` fails fast otherwise), each keeps its own KV
cache, and each runs once per generated token, so the cost per token is about three teacher forwards when the
proxy is the teacher's size (``benchmarks/antidistill.py`` measures it).
"""

from __future__ import annotations

import copy
import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn
from transformers import PreTrainedTokenizerBase

from training.lm import IGNORE, LMConfig, collate, completion_loss, encode_pairs
from training.proxy import device_and_dtype
from training.sampling import sample_with

log = logging.getLogger(__name__)


@dataclass
class AntidistillConfig:
    lam: float  # no default: the strength of the poisoning is the experiment's variable (0 = temperature sampling)
    tau: float = 1.0  # teacher temperature; same default as SampleConfig so the two compare at equal settings
    eps: float = 1e-2  # finite-difference step along the unit gradient (see the module docstring)
    top_p: float = 0.95  # applied to the adjusted scores, as the paper's code does; 1.0 turns it off
    max_new_tokens: int = 128  # as SampleConfig
    min_new_tokens: int = 0  # eos is forbidden before this many tokens (benchmarks set it to max_new_tokens)
    seed: int = 0  # same seed, same samples (and lam = 0 gives generate()'s samples)
    batch_size: int = 32  # rows decoded together; three models' KV caches grow with it
    stop: tuple[str, ...] = ()  # a row also ends at any of these strings; the text is cut before it


def check_same_tokenizer(teacher_tok: PreTrainedTokenizerBase, proxy_tok: PreTrainedTokenizerBase) -> None:
    """Raise ValueError unless both tokenizers have the same vocabulary (token -> id) and eos / bos / unk ids."""
    problems = []
    teacher_vocab, proxy_vocab = teacher_tok.get_vocab(), proxy_tok.get_vocab()
    if teacher_vocab != proxy_vocab:
        differ = sorted(set(teacher_vocab.items()) ^ set(proxy_vocab.items()), key=lambda kv: kv[1])
        problems.append(
            f"vocabularies differ ({len(teacher_vocab)} vs {len(proxy_vocab)} tokens; "
            f"{len(differ)} (token, id) entries in one only, e.g. {differ[:3]})"
        )
    for attr in ("eos_token_id", "bos_token_id", "unk_token_id"):
        if getattr(teacher_tok, attr) != getattr(proxy_tok, attr):
            problems.append(f"{attr} {getattr(teacher_tok, attr)} vs {getattr(proxy_tok, attr)}")
    if problems:
        raise ValueError(
            "the teacher's and the proxy's tokenizers differ: " + "; ".join(problems) + ". Antidistillation "
            "adds the two models' log-probabilities token by token, so the proxy must use the teacher's "
            "tokenizer: pick a proxy from the teacher's model family, or train it with the teacher's tokenizer"
        )


def proxy_gradient(
    proxy: nn.Module,
    tokenizer: PreTrainedTokenizerBase,
    holdout_pairs: Sequence[tuple[str, str]],
    cfg: LMConfig,
) -> dict[str, torch.Tensor]:
    """g: gradient of the proxy's mean completion-only loss over all completion tokens of ``holdout_pairs``.

    One pass, in float32 (no autocast: g feeds a finite difference), batches of cfg.batch_size pairs cut to
    cfg.block_size, on cfg.device (the proxy is moved there). Returns {parameter name: fp32 tensor on cpu},
    one entry per ``named_parameters()`` entry (a tied weight once); the proxy's .grad is left cleared.
    """
    examples = encode_pairs(tokenizer, holdout_pairs, max_len=cfg.block_size)
    if not examples:
        raise ValueError("no holdout pair has a completion token to compute a gradient from")
    n_targets = sum(sum(label != IGNORE for label in labels[1:]) for _, labels in examples)
    device, _ = device_and_dtype(cfg)
    proxy.to(device)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    was_training = proxy.training
    proxy.eval()  # no dropout: the gradient of the model that will be perturbed
    proxy.zero_grad(set_to_none=True)
    for i in range(0, len(examples), cfg.batch_size):
        batch = {k: v.to(device) for k, v in collate(examples[i : i + cfg.batch_size], pad_id).items()}
        (completion_loss(proxy, batch, reduction="sum") / n_targets).backward()  # grads add up to the mean's
    grad = {
        name: (p.grad.detach().float().cpu().clone() if p.grad is not None else torch.zeros_like(p, device="cpu"))
        for name, p in proxy.named_parameters()
    }
    proxy.zero_grad(set_to_none=True)
    proxy.train(was_training)
    log.info("proxy gradient over %d pairs, %d tokens: norm %.3e", len(examples), n_targets, gradient_norm(grad))
    return grad


def gradient_norm(grad: dict[str, torch.Tensor]) -> float:
    return math.sqrt(sum(float(g.double().pow(2).sum()) for g in grad.values()))


def save_gradient(grad: dict[str, torch.Tensor], path: str | Path, metadata: dict | None = None) -> None:
    """safetensors file of ``grad``; its header records the norm and ``metadata`` (values as strings)."""
    meta = {"norm": repr(gradient_norm(grad)), **{k: str(v) for k, v in (metadata or {}).items()}}
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    save_file({name: g.detach().cpu().contiguous() for name, g in grad.items()}, str(tmp), metadata=meta)
    os.replace(tmp, path)  # a reader never sees half a file


def load_gradient(path: str | Path) -> dict[str, torch.Tensor]:
    return load_file(str(path))


@torch.no_grad()
def perturbed_pair(
    proxy: nn.Module, grad: dict[str, torch.Tensor], eps: float, normalize: bool = True
) -> tuple[nn.Module, nn.Module]:
    """Two eval-mode copies of ``proxy`` at theta + eps u and theta - eps u, u = g / ||g|| (or g if not normalize).

    The step is added in float32 and cast to each parameter's dtype. ``proxy`` itself is not changed.
    """
    names = [name for name, _ in proxy.named_parameters()]
    missing, extra = sorted(set(names) - set(grad)), sorted(set(grad) - set(names))
    if missing or extra:
        raise ValueError(
            f"gradient does not match the proxy: missing {missing[:3]} ({len(missing)}), unknown {extra[:3]} "
            f"({len(extra)}); compute it with proxy_gradient on this proxy"
        )
    if eps <= 0:
        raise ValueError(f"eps={eps}; it must be > 0")
    norm = gradient_norm(grad)
    if not math.isfinite(norm) or norm == 0:
        raise ValueError(f"gradient norm is {norm}; the holdout loss gives no direction to perturb along")
    step = eps / norm if normalize else eps
    if any(p.dtype != torch.float32 for p in proxy.parameters()):
        log.warning("proxy is not float32: a perturbation of %.1e per unit direction may round away", eps)
    pair = []
    for sign in (1.0, -1.0):
        model = copy.deepcopy(proxy)  # deepcopy keeps tied weights tied
        for name, p in model.named_parameters():
            p.copy_((p.float() + (sign * step) * grad[name].to(p.device, torch.float32)).to(p.dtype))
        pair.append(model.eval().requires_grad_(False))
    return pair[0], pair[1]


def antidistill_scores(
    teacher_logits: torch.Tensor, plus_logits: torch.Tensor, minus_logits: torch.Tensor, cfg: AntidistillConfig
) -> torch.Tensor:
    """log_softmax(teacher) / tau + lam * Delta, all (B, V); Delta the central difference of proxy log-probs."""
    delta = (F.log_softmax(plus_logits, dim=-1) - F.log_softmax(minus_logits, dim=-1)) / (2 * cfg.eps)
    return F.log_softmax(teacher_logits, dim=-1) / cfg.tau + cfg.lam * delta


def antidistill_generate(
    teacher: nn.Module,
    plus: nn.Module,
    minus: nn.Module,
    tokenizer: PreTrainedTokenizerBase,
    prompts: Sequence[str],
    n: int,
    cfg: AntidistillConfig,
) -> list[list[str]]:
    """``n`` antidistillation samples per prompt, in prompt order; ``plus`` / ``minus`` from ``perturbed_pair``.

    ``tokenizer`` is the teacher's; check the proxy's against it with ``check_same_tokenizer`` first.
    """
    if cfg.tau <= 0 or cfg.eps <= 0:
        raise ValueError(f"tau={cfg.tau}, eps={cfg.eps}; both must be > 0")

    def scores(logits: list[torch.Tensor]) -> torch.Tensor:
        return antidistill_scores(*logits, cfg)

    return sample_with([teacher, plus, minus], scores, tokenizer, prompts, n, cfg)
