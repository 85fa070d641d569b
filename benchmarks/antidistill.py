"""Antidistillation sampling throughput: ``antidistill_generate`` against ``generate`` (temperature sampling) of
the same teacher, prompts, batch and seed, in the same run; prints tokens/s of each and the cost ratio.

    .venv/bin/python benchmarks/antidistill.py [--n-embd 128] [--n-layer 2] [--proxy-embd 128] [--batch 32]
                                               [--tokens 64] [--repeats 3] [--device auto] [--threads N]

Antidistillation runs three models per token (teacher, proxy at theta + eps g, proxy at theta - eps g), so with
a proxy the teacher's size it costs about 3x temperature sampling: a ratio near 3 is the floor, well above it
means waste in the loop. Every row generates exactly --tokens tokens (eos is held off), so both sides do the
same work. Models are tiny Llamas at random init: throughput does not depend on what they learnt.
"""

from __future__ import annotations

import argparse
import time

import torch

from training.antidistill import AntidistillConfig, antidistill_generate, perturbed_pair, proxy_gradient
from training.lm import LMConfig, new_model
from training.sampling import SampleConfig, generate
from training.tokenizer import train_bpe


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-embd", type=int, default=128)
    parser.add_argument("--n-layer", type=int, default=2)
    parser.add_argument("--proxy-embd", type=int, help="proxy width (default: the teacher's)")
    parser.add_argument("--batch", type=int, default=32, help="prompts, one sample each, decoded as one batch")
    parser.add_argument("--tokens", type=int, default=64, help="new tokens per row")
    parser.add_argument("--repeats", type=int, default=3, help="alternating runs of each; the best is kept")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, help="torch CPU threads (1 is steadier on a busy machine)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    if args.device == "auto":
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        device = torch.device(args.device)
    lines = [f"{a}+{b}={a + b}" for a in range(100) for b in range(100)]
    tok = train_bpe(lines, vocab_size=512)
    teacher_cfg = LMConfig(n_layer=args.n_layer, n_embd=args.n_embd, device=str(device))
    proxy_cfg = LMConfig(n_layer=args.n_layer, n_embd=args.proxy_embd or args.n_embd, seed=1, device=str(device))
    teacher = new_model(len(tok), teacher_cfg).to(device)
    proxy = new_model(len(tok), proxy_cfg).to(device)
    holdout = [(f"{a}+{b}=", f"{a + b}") for a, b in zip(range(8), range(8, 16), strict=True)]
    plus, minus = perturbed_pair(proxy, proxy_gradient(proxy, tok, holdout, proxy_cfg), eps=1e-2)

    prompts = [f"{a}+{b}=" for a, b in zip(range(args.batch), range(50, 50 + args.batch), strict=True)]
    common = dict(
        top_p=0.95, max_new_tokens=args.tokens, min_new_tokens=args.tokens, seed=0, batch_size=args.batch
    )
    sample_cfg = SampleConfig(temperature=1.0, **common)
    anti_cfg = AntidistillConfig(lam=1.0, tau=1.0, **common)

    def timed(fn) -> float:
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        return args.batch * args.tokens / (time.perf_counter() - t0)  # tokens/s

    def plain():
        return generate(teacher, tok, prompts, 1, sample_cfg)

    def anti():
        return antidistill_generate(teacher, plus, minus, tok, prompts, 1, anti_cfg)

    timed(plain), timed(anti)  # warm-up: allocator, kernels, first-call overheads
    temp, ads = [], []
    for _ in range(args.repeats):  # alternate, so drift in machine speed hits both alike
        temp.append(timed(plain))
        ads.append(timed(anti))
    n_teacher = sum(p.numel() for p in teacher.parameters())
    n_proxy = sum(p.numel() for p in proxy.parameters())
    print(
        f"device {device}, {torch.get_num_threads()} threads, teacher {n_teacher:,} / proxy {n_proxy:,} params, "
        f"batch {args.batch} x {args.tokens} tokens, {args.repeats} runs"
    )
    print(f"temperature sampling     : {max(temp):10,.0f} tokens/s")
    print(f"antidistillation sampling: {max(ads):10,.0f} tokens/s")
    floor = 1 + 2 * n_proxy / n_teacher
    print(
        f"cost ratio (temperature / antidistillation tokens/s): {max(temp) / max(ads):.2f}  (~{floor:.1f} = floor)"
    )


if __name__ == "__main__":
    main()
