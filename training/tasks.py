"""Verifiable tasks for the downstream stage: problems, the prompt a model sees, and a verifier.

Teachers are fine-tuned on worked solutions and sample traces (temperature or antidistillation), students are
distilled from the traces, and every model is scored with pass@k (``training.passk``): each step needs problems
whose answers a program can check. A task gives ``Problem`` rows, ``prompt(problem)`` and ``verify(problem,
completion) -> bool``.

Answers follow GSM8K's convention: a worked solution ends with a line ``#### <number>``, and a completion's
answer is the number after its last ``####``. Built in: procedural arithmetic (``ArithmeticTask``: unlimited fresh
problems, small enough at the easy setting for a ~1M-parameter model trained on CPU, the demo task) and
GSM8K-format JSONL (``GSM8KTask``); ``reasoning-gym`` datasets when that package is installed.

Train and eval splits are decided by a hash of a problem's content, never by the seed, so no seed can draw the same
problem into both.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import re
from dataclasses import dataclass, fields, replace
from decimal import Decimal
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)

PROMPT = "Q: {question}\nA:"  # a training example is PROMPT + " " + solution + STOP
STOP = "\n\n"  # samplers stop here; worked solutions never contain a blank line
SPLITS = ("train", "eval")


class TaskError(ValueError):
    """A task cannot be built or read: bad config, malformed data file, unknown split, missing package."""


@dataclass(frozen=True)
class Problem:
    problem_id: str  # stable across runs and machines: a content hash, or the data file and line number
    question: str
    answer: str  # canonical number string ("57", "-3", "2.5"); reasoning-gym answers may be any string
    solution: str  # worked solution ending in "#### <answer>", what teachers are fine-tuned on


class Task(Protocol):
    name: str

    def problems(self, n: int | None = None, *, seed: int = 0, split: str = "train") -> list[Problem]: ...

    def prompt(self, problem: Problem) -> str: ...

    def verify(self, problem: Problem, completion: str) -> bool: ...


def format_prompt(problem: Problem) -> str:
    return PROMPT.format(question=problem.question)


def format_example(problem: Problem) -> str:
    """Prompt, worked solution and stop: the text a teacher is fine-tuned on."""
    return f"{format_prompt(problem)} {problem.solution}{STOP}"


_NUMBER = re.compile(r"\s*\$?\s*([-+]?)\s*(\d[\d,]*(?:\.\d*)?|\.\d+)")


def normalize_number(text: str) -> str | None:
    """The canonical form of the number that ``text`` starts with: no commas, no trailing zeros ("3.0" -> "3").

    None when ``text`` does not start with a number (after spaces and an optional "$").
    """
    m = _NUMBER.match(text)
    if not m:
        return None
    d = Decimal(m.group(1) + m.group(2).replace(",", ""))  # the pattern only lets valid decimals through
    if d == d.to_integral_value():
        return str(int(d))  # also turns "-0" into "0"
    return format(d.normalize(), "f")


def extract_answer(completion: str) -> str | None:
    """The normalised number after the last ``####`` of ``completion``, or None when there is none."""
    _, sep, tail = completion.rpartition("####")
    if not sep:
        return None
    return normalize_number(tail.split("\n", 1)[0])


def verify(problem: Problem, completion: str) -> bool:
    """Whether ``completion`` ends in the problem's answer.

    The completion is read up to its first ``STOP``, as a sampler that stops there returns it: a model that runs on
    into a next "Q: ... #### 3" is judged on its own answer, not on the one it invents for the next question.
    """
    return extract_answer(completion.split(STOP, 1)[0]) == problem.answer


class _FinalAnswerTask:
    """Prompt and verifier of the tasks graded by the number after ``####``."""

    def prompt(self, problem: Problem) -> str:
        return format_prompt(problem)

    def verify(self, problem: Problem, completion: str) -> bool:
        return verify(problem, completion)


def split_of(key: str, eval_fraction: float) -> str:
    """The split of ``key``: "eval" for a fixed ``eval_fraction`` of all keys, by a 64-bit hash of the key."""
    h = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big")
    return "eval" if h < eval_fraction * 2**64 else "train"


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise TaskError(f"unknown split {split!r}; use one of {SPLITS}")


_APPLY = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "/": lambda a, b: a // b}
_PRECEDENCE = {"+": 0, "-": 0, "*": 1, "/": 1}
_NAMES = ("Ann", "Bob", "Sam", "Eve")
_ITEMS = ("apples", "coins", "cards", "books")
_SENTENCES = {
    "+": "{name} gets {b} more.",
    "-": "{name} gives away {b}.",
    "*": "{name} now has {b} times as many.",
    "/": "{name} splits them into {b} equal piles and keeps one pile.",
}


@dataclass(frozen=True)
class ArithmeticConfig:
    min_steps: int = 1  # one-operation problems are what a tiny model learns first
    max_steps: int = 3  # each step is one solution line; 3 keeps a whole example under ~60 characters
    min_operand: int = 1  # >= 1: no "x * 0" or division by zero
    max_operand: int = 20  # 1-2 digit operands (DIFFICULTIES["easy"] keeps to one digit for the demo)
    operators: tuple[str, ...] = ("+", "-", "*")  # "/" adds exact division (only divisors of the running value)
    max_value: int = 200  # bound on every intermediate |result|: answers stay within 3 digits at the easy setting
    allow_negative: bool = False  # intermediate results below 0; word problems never go below 0 (counts of things)
    word_problems: bool = False  # "Ann has 12 apples. Ann gets 7 more. ..." in place of "12 + 7"; same steps
    eval_fraction: float = 0.1  # share of the problem space held out as the eval split, by content hash

    def __post_init__(self) -> None:
        object.__setattr__(self, "operators", tuple(self.operators))  # lists from YAML / JSON options
        bad_ops = set(self.operators) - set(_APPLY)
        if not self.operators or bad_ops:
            raise TaskError(f"operators must be a non-empty subset of {sorted(_APPLY)}, got {self.operators}")
        if not 1 <= self.min_steps <= self.max_steps:
            raise TaskError(f"need 1 <= min_steps <= max_steps, got {self.min_steps} and {self.max_steps}")
        if not 1 <= self.min_operand <= self.max_operand <= self.max_value:
            raise TaskError(
                "need 1 <= min_operand <= max_operand <= max_value, got "
                f"{self.min_operand}, {self.max_operand}, {self.max_value}"
            )
        if not 0 < self.eval_fraction < 1:
            raise TaskError(f"eval_fraction must be in (0, 1), got {self.eval_fraction}")


DIFFICULTIES = {
    # The demo task: one or two single-digit additions / subtractions. A 2-layer, ~1M-parameter model fine-tuned
    # ~1,000 steps on its worked solutions gets ~95% of unseen problems right on CPU, so its traces can teach
    # a student; about 1,800 distinct train problems and 200 eval problems exist.
    "easy": ArithmeticConfig(max_steps=2, max_operand=9, operators=("+", "-"), max_value=99),
    # Three steps of 1-2 digit operands with "*": the same model stays under ~30% here after 2,000 steps.
    "medium": ArithmeticConfig(),
    "hard": ArithmeticConfig(max_steps=5, max_operand=100, operators=("+", "-", "*", "/"), max_value=10_000),
    "expert": ArithmeticConfig(
        min_steps=3,
        max_steps=8,
        max_operand=1000,
        operators=("+", "-", "*", "/"),
        max_value=1_000_000,
        allow_negative=True,
    ),
}

Step = tuple[int, str, int, int]  # (left, operator, right, result)


class ArithmeticTask(_FinalAnswerTask):
    """Procedural multi-step integer arithmetic with exact answers and one solution line per step.

    A problem is a chain: start from an operand, apply ``n_steps`` operations, each to the running value; the
    question writes the chain as one expression with the fewest parentheses ("(12 + 7) * 3", which Python evaluates
    to the answer) or as a word problem. Problem ids hash the question text; the split hashes the chain, so a chain
    stays in its split whether it is written as symbols or words.
    """

    name = "arithmetic"

    def __init__(self, cfg: ArithmeticConfig | None = None):
        self.cfg = cfg or ArithmeticConfig()

    def problems(self, n: int | None = None, *, seed: int = 0, split: str = "train") -> list[Problem]:
        """``n`` distinct problems of ``split``; the same (n, seed, split, config) gives the same list."""
        _check_split(split)
        if n is None or n < 0:
            raise TaskError(f"the arithmetic task is unlimited: ask for n >= 0 problems, got {n}")
        rng = random.Random(f"arithmetic:{split}:{seed}")  # str seeds hash with sha512: same on every platform
        out, seen = [], set()
        for _ in range(1000 + 100 * n):  # ~10 draws per eval problem at eval_fraction 0.1
            if len(out) == n:
                return out
            steps = self._chain(rng)
            if steps is None or split_of(_chain_key(steps), self.cfg.eval_fraction) != split:
                continue
            problem = self._render(steps, rng)
            if problem.problem_id not in seen:
                seen.add(problem.problem_id)
                out.append(problem)
        if len(out) == n:
            return out
        raise TaskError(
            f"found only {len(out)} distinct {split} problems of {n} asked: the config's problem space is too "
            "small; raise max_steps or max_operand, or ask for fewer"
        )

    def _chain(self, rng: random.Random) -> list[Step] | None:
        """One random chain of steps, or None when it runs into a value no allowed operator can leave."""
        cfg = self.cfg
        value = rng.randint(cfg.min_operand, cfg.max_operand)
        steps = []
        for _ in range(rng.randint(cfg.min_steps, cfg.max_steps)):
            options = [(op, rights) for op in cfg.operators if (rights := self._rights(op, value))]
            if not options:
                return None
            op, rights = rng.choice(options)
            b = rng.choice(rights)
            result = _APPLY[op](value, b)
            steps.append((value, op, b, result))
            value = result
        return steps

    def _rights(self, op: str, value: int) -> range | list[int]:
        """The right operands that keep ``value op b`` exact and inside the config's bounds."""
        cfg = self.cfg
        low = -cfg.max_value if cfg.allow_negative and not cfg.word_problems else 0
        lo, hi = cfg.min_operand, cfg.max_operand
        if op == "+":
            return range(lo, min(hi, cfg.max_value - value) + 1)
        if op == "-":
            return range(lo, min(hi, value - low) + 1)
        lo = max(lo, 2)  # "times 1" and "into 1 pile" are steps that teach nothing
        if op == "*":
            return range(lo, (hi if value == 0 else min(hi, cfg.max_value // abs(value))) + 1)
        return [b for b in range(lo, hi + 1) if value % b == 0]  # "/": exact division only

    def _render(self, steps: list[Step], rng: random.Random) -> Problem:
        answer = str(steps[-1][3])
        if self.cfg.word_problems:
            name, item = rng.choice(_NAMES), rng.choice(_ITEMS)
            said = [_SENTENCES[op].format(name=name, b=b) for _, op, b, _ in steps]
            question = " ".join([f"{name} has {steps[0][0]} {item}.", *said, f"How many {item} does {name} have?"])
        else:
            question = _expression(steps)
        lines = [f"{a} {op} {b} = {r}" for a, op, b, r in steps]
        digest = hashlib.blake2b(question.encode(), digest_size=8).hexdigest()
        return Problem(f"arith-{digest}", question, answer, "\n".join([*lines, f"#### {answer}"]))


def _expression(steps: list[Step]) -> str:
    """The chain as one left-to-right expression, parenthesised only where precedence needs it."""
    text, precedence = str(steps[0][0]), 2  # a bare number binds tightest
    for _, op, b, _ in steps:
        if precedence < _PRECEDENCE[op]:
            text = f"({text})"
        text, precedence = f"{text} {op} {b}", _PRECEDENCE[op]
    return text


def _chain_key(steps: list[Step]) -> str:
    return " ".join([str(steps[0][0])] + [f"{op}{b}" for _, op, b, _ in steps])


class GSM8KTask(_FinalAnswerTask):
    """GSM8K-format JSONL: one ``{"question": ..., "answer": "... #### <number>"}`` object per line.

    One file per split (GSM8K's train.jsonl as ``train_path``, test.jsonl as ``eval_path``); a task may have only
    one of them. Problem ids are ``gsm8k:<file name>:<line number>``. Solutions are the answer texts without the
    ``<<48/2=24>>`` calculator annotations.
    """

    name = "gsm8k"

    def __init__(self, train_path: str | Path | None = None, eval_path: str | Path | None = None):
        paths = {"train": train_path, "eval": eval_path}
        self.paths = {split: Path(p) for split, p in paths.items() if p is not None}
        if not self.paths:
            raise TaskError("GSM8KTask needs train_path, eval_path or both (GSM8K's train.jsonl and test.jsonl)")
        if len({p.resolve() for p in self.paths.values()}) < len(self.paths):
            raise TaskError(f"train_path and eval_path are the same file ({train_path}); the splits would overlap")
        self._loaded: dict[str, list[Problem]] = {}

    def problems(self, n: int | None = None, *, seed: int = 0, split: str = "train") -> list[Problem]:
        """All problems of ``split`` in file order, or, with ``n``, a seeded sample of n of them in file order."""
        _check_split(split)
        if split not in self.paths:
            raise TaskError(f"this GSM8KTask has no {split} file; pass {split}_path=... when building it")
        if split not in self._loaded:
            self._loaded[split] = read_gsm8k(self.paths[split])
        everything = self._loaded[split]
        if n is None:
            return list(everything)
        if not 0 <= n <= len(everything):
            raise TaskError(f"asked for {n} problems, {self.paths[split]} holds {len(everything)}")
        picked = random.Random(f"gsm8k:{split}:{seed}").sample(range(len(everything)), n)
        return [everything[i] for i in sorted(picked)]


_CALCULATOR = re.compile(r"<<[^>]*>>")


def read_gsm8k(path: str | Path) -> list[Problem]:
    """Parse a GSM8K-format JSONL file; blank lines are skipped, any other malformed line raises ``TaskError``."""
    path = Path(path)
    out = []
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise TaskError(f"{where}: not valid JSON ({e.msg}); each line must be one JSON object") from e
            if not isinstance(row, dict) or not all(isinstance(row.get(k), str) for k in ("question", "answer")):
                raise TaskError(f'{where}: need an object with string "question" and "answer" fields')
            _, sep, tail = row["answer"].rpartition("####")
            if not sep or not _NUMBER.fullmatch(tail.rstrip()):
                raise TaskError(f"{where}: the answer must end in '#### <number>', got ...{row['answer'][-40:]!r}")
            answer = normalize_number(tail)
            solution = re.sub(r"\n\s*\n", "\n", _CALCULATOR.sub("", row["answer"])).strip()
            out.append(Problem(f"gsm8k:{path.name}:{lineno}", row["question"].strip(), answer, solution))
    return out


class ReasoningGymTask:
    """A ``reasoning-gym`` dataset (https://github.com/open-thought/reasoning-gym), when the package is installed.

    Questions and answers come from ``reasoning_gym.create_dataset(dataset, size, seed, **config)``; a completion's
    answer is the rest of the line after its last ``####``, scored by the dataset's own ``score_answer`` (correct
    only at a full score of 1.0). There are no worked solutions: ``solution`` is ``#### <answer>`` alone. Problem
    ids name the generator seed and index, so ``verify`` can rebuild the entry in another process; that relies on
    item i depending on (seed, i) alone and not on the dataset's size, as in reasoning-gym's generators.
    """

    def __init__(self, dataset: str, eval_fraction: float = 0.1, **config):
        try:
            import reasoning_gym
        except ImportError as e:
            raise TaskError(
                f"task 'reasoning-gym:{dataset}' needs the reasoning-gym package: pip install reasoning-gym"
            ) from e
        if not 0 < eval_fraction < 1:
            raise TaskError(f"eval_fraction must be in (0, 1), got {eval_fraction}")
        self._rg, self.dataset, self.config = reasoning_gym, dataset, config
        self.name, self.eval_fraction = f"reasoning-gym:{dataset}", eval_fraction
        self._datasets: dict[int, object] = {}

    def problems(self, n: int | None = None, *, seed: int = 0, split: str = "train") -> list[Problem]:
        _check_split(split)
        if n is None or n < 0:
            raise TaskError(f"reasoning-gym generators are unlimited: ask for n >= 0 problems, got {n}")
        out, seen = [], set()
        for chunk in range(100):
            # Spread seeds apart: many generators seed item i with (seed + i), so adjacent seeds share items.
            rg_seed = int.from_bytes(hashlib.blake2b(f"{split}:{seed}:{chunk}".encode(), digest_size=4).digest())
            data = self._dataset(rg_seed, size=max(64, 2 * n))
            for index in range(len(data)):
                if len(out) == n:
                    return out
                entry = data[index]
                question = str(entry["question"])
                if question in seen or split_of(question, self.eval_fraction) != split:
                    continue
                seen.add(question)
                answer = str(entry["answer"])
                pid = f"rg:{self.dataset}:{rg_seed}:{index}"
                out.append(Problem(pid, question, answer, f"#### {answer}"))
        if len(out) == n:
            return out
        raise TaskError(f"found only {len(out)} distinct {split} problems of {n} asked in {self.name}")

    def prompt(self, problem: Problem) -> str:
        return format_prompt(problem)

    def verify(self, problem: Problem, completion: str) -> bool:
        _, _, rg_seed, index = problem.problem_id.split(":")
        data = self._dataset(int(rg_seed), size=int(index) + 1)
        _, sep, tail = completion.split(STOP, 1)[0].rpartition("####")
        if not sep:
            return False
        return data.score_answer(answer=tail.split("\n", 1)[0].strip(), entry=data[int(index)]) >= 1.0

    def _dataset(self, rg_seed: int, size: int):
        data = self._datasets.get(rg_seed)
        if data is None or len(data) < size:
            data = self._rg.create_dataset(self.dataset, size=size, seed=rg_seed, **self.config)
            self._datasets[rg_seed] = data
        return data


def task_from_config(name: str, options: dict | None = None) -> Task:
    """Build a task by name: "arithmetic", "gsm8k" or "reasoning-gym:<dataset>".

    "arithmetic" takes ``difficulty`` ("easy", "medium", "hard"; default "easy") and any ``ArithmeticConfig``
    field, which overrides the preset; "gsm8k" takes ``train_path`` and ``eval_path``; "reasoning-gym:<dataset>"
    takes ``eval_fraction`` and the generator's own config fields.
    """
    options = dict(options or {})
    if name == "arithmetic":
        difficulty = options.pop("difficulty", "easy")
        if difficulty not in DIFFICULTIES:
            raise TaskError(f"unknown difficulty {difficulty!r}; use one of {sorted(DIFFICULTIES)}")
        allowed = {f.name for f in fields(ArithmeticConfig)}
        if unknown := set(options) - allowed:
            raise TaskError(f"unknown arithmetic options {sorted(unknown)}; use difficulty or {sorted(allowed)}")
        return ArithmeticTask(replace(DIFFICULTIES[difficulty], **options))
    if name == "gsm8k":
        if unknown := set(options) - {"train_path", "eval_path"}:
            raise TaskError(f"unknown gsm8k options {sorted(unknown)}; allowed: train_path, eval_path")
        return GSM8KTask(**options)
    if name.startswith("reasoning-gym:") and name.split(":", 1)[1]:
        return ReasoningGymTask(name.split(":", 1)[1], **options)
    raise TaskError(f"unknown task {name!r}; use 'arithmetic', 'gsm8k' or 'reasoning-gym:<dataset>'")
