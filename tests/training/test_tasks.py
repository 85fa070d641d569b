import importlib.util
import json
import re
import sys
import types

import pytest

from training.tasks import (
    DIFFICULTIES,
    STOP,
    ArithmeticConfig,
    ArithmeticTask,
    GSM8KTask,
    Problem,
    TaskError,
    extract_answer,
    format_example,
    format_prompt,
    task_from_config,
    verify,
)

LINE = re.compile(r"^(-?\d+) ([-+*/]) (\d+) = (-?\d+)$")
PYTHON_OP = {"+": "+", "-": "-", "*": "*", "/": "//"}


@pytest.mark.parametrize(
    "completion, answer",
    [
        ("12 + 7 = 19\n#### 19", "19"),
        ("#### 1,000", "1000"),
        ("#### 3.0", "3"),
        ("#### 2.50", "2.5"),
        ("#### -4", "-4"),
        ("#### -0", "0"),
        ("####  $18.", "18"),
        ("#### 1\nthen #### 2", "2"),  # the last ####
        ("#### 57 apples", "57"),
        ("the answer is 57", None),
        ("####", None),
        ("#### abc", None),
        ("#### \n57", None),  # the number must be on the #### line
    ],
)
def test_extract_answer(completion, answer):
    assert extract_answer(completion) == answer


def test_verify_right_wrong_malformed():
    p = Problem("x", "(12 + 7) * 3", "57", "12 + 7 = 19\n19 * 3 = 57\n#### 57")
    assert verify(p, " 12 + 7 = 19\n19 * 3 = 57\n#### 57")
    assert verify(p, "#### 57.0")
    assert not verify(p, "#### 58")
    assert not verify(p, "57")
    assert not verify(p, "")
    assert verify(p, f"#### 57{STOP}Q: 1 + 1\nA: #### 2")  # text past STOP does not count
    assert not verify(p, f"#### 2{STOP}#### 57")
    assert format_prompt(p) == "Q: (12 + 7) * 3\nA:"
    assert format_example(p) == "Q: (12 + 7) * 3\nA: 12 + 7 = 19\n19 * 3 = 57\n#### 57\n\n"


def _check_chain(problem: Problem, cfg: ArithmeticConfig) -> None:
    *lines, last = problem.solution.split("\n")
    assert last == f"#### {problem.answer}"
    assert cfg.min_steps <= len(lines) <= cfg.max_steps
    value = None
    for line in lines:
        a, op, b, r = LINE.match(line).groups()
        assert value is None or int(a) == value  # each step starts from the previous result
        assert eval(f"{a} {PYTHON_OP[op]} {b}") == int(r)
        if op in "*/":
            assert int(b) >= 2  # no "times 1" or "into 1 pile"
        if op == "/":
            assert int(a) % int(b) == 0  # exact division
        assert cfg.min_operand <= int(b) <= cfg.max_operand
        assert abs(int(r)) <= cfg.max_value
        assert cfg.allow_negative or int(r) >= 0
        value = int(r)
    assert value == int(problem.answer)


@pytest.mark.parametrize("difficulty", sorted(DIFFICULTIES))
def test_arithmetic_answers_are_python_evaluation_of_the_steps(difficulty):
    cfg = DIFFICULTIES[difficulty]
    task = ArithmeticTask(cfg)
    problems = task.problems(300, seed=3)
    assert len({p.problem_id for p in problems}) == 300
    for p in problems:
        _check_chain(p, cfg)
        assert eval(p.question.replace("/", "//")) == int(p.answer)  # the question's expression, as written
        assert task.verify(p, p.solution)  # a worked solution verifies for its own problem
        assert not task.verify(p, f"#### {int(p.answer) + 1}")
    ops = {LINE.match(line).group(2) for p in problems for line in p.solution.split("\n")[:-1]}
    assert ops == set(cfg.operators)


def test_word_problems_keep_counts_non_negative_and_verify():
    cfg = ArithmeticConfig(word_problems=True, operators=("+", "-", "*", "/"), allow_negative=True)
    for p in ArithmeticTask(cfg).problems(200, seed=0):
        assert p.question.endswith("have?")
        _check_chain(p, ArithmeticConfig(operators=cfg.operators))  # allow_negative is ignored in words
        assert verify(p, p.solution)


def test_easy_problems_are_one_or_two_single_digit_steps():
    problems = ArithmeticTask(DIFFICULTIES["easy"]).problems(1000, seed=0)
    texts = [format_example(p) for p in problems]
    assert set("".join(texts)) <= set("QA: 0123456789+-()=#\n")
    assert {p.solution.count("\n") for p in problems} == {1, 2}
    assert all(len(q) == 1 for p in problems for q in p.question.replace("(", "").replace(")", "").split()[::2])


def test_medium_problems_are_short_with_a_tiny_alphabet():
    problems = ArithmeticTask(DIFFICULTIES["medium"]).problems(2000, seed=0)
    texts = [format_example(p) for p in problems]
    assert max(len(t) for t in texts) <= 100
    assert set("".join(texts)) <= set("QA: 0123456789+-*()=#\n")
    steps = [p.solution.count("\n") for p in problems]
    assert {1, 2, 3} <= set(steps)


def test_arithmetic_is_deterministic_and_seeds_give_fresh_problems():
    task = ArithmeticTask(DIFFICULTIES["hard"])
    a = task.problems(500, seed=1)
    assert a == task.problems(500, seed=1)
    assert a[:100] == task.problems(100, seed=1)  # a longer list extends a shorter one
    b = task.problems(500, seed=2)
    overlap = {p.problem_id for p in a} & {p.problem_id for p in b}
    assert len(overlap) < 25  # only the small space of one-step problems repeats


def test_train_and_eval_never_overlap():
    for cfg in (DIFFICULTIES["medium"], ArithmeticConfig(word_problems=True)):
        task = ArithmeticTask(cfg)
        train = {p.problem_id for s in range(3) for p in task.problems(1000, seed=s, split="train")}
        held = {p.problem_id for s in range(3) for p in task.problems(300, seed=s, split="eval")}
        assert len(held) > 300 and not train & held
    # the symbolic and the word version of a chain share its split
    symbolic = ArithmeticTask().problems(500, split="eval")
    words = ArithmeticTask(ArithmeticConfig(word_problems=True)).problems(3000, split="train")
    assert not {p.solution for p in symbolic} & {p.solution for p in words}
    with pytest.raises(TaskError, match="unknown split"):
        ArithmeticTask().problems(5, split="test")


def test_arithmetic_config_errors():
    with pytest.raises(TaskError, match="operators"):
        ArithmeticConfig(operators=("^",))
    with pytest.raises(TaskError, match="min_steps"):
        ArithmeticConfig(min_steps=4, max_steps=3)
    with pytest.raises(TaskError, match="min_operand"):
        ArithmeticConfig(min_operand=0)
    with pytest.raises(TaskError, match="too small"):
        ArithmeticTask(ArithmeticConfig(max_steps=1, max_operand=3, operators=("+",))).problems(50)


def _write_gsm8k(path, rows):
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


GOOD = [
    {
        "question": "Ann has 48 clips. She sells half. How many are left?",
        "answer": "48/2 = <<48/2=24>>24\n#### 24",
    },
    {"question": "A pen costs $1,200. How much do 2 cost?", "answer": "2*1200=<<2*1200=2400>>2400\n#### 2,400"},
    "",
    {"question": "Temperature drops 5 from 3.", "answer": "3-5=-2\n#### -2"},
]


def test_gsm8k_loader(tmp_path):
    task = GSM8KTask(train_path=_write_gsm8k(tmp_path / "train.jsonl", GOOD))
    problems = task.problems()
    assert [p.problem_id for p in problems] == [
        "gsm8k:train.jsonl:1",
        "gsm8k:train.jsonl:2",
        "gsm8k:train.jsonl:4",
    ]
    assert [p.answer for p in problems] == ["24", "2400", "-2"]
    assert problems[0].solution == "48/2 = 24\n#### 24"  # calculator annotations stripped
    assert all(task.verify(p, p.solution) for p in problems)
    assert not task.verify(problems[0], "#### 48")
    assert task.problems(2, seed=5) == task.problems(2, seed=5)
    assert len(task.problems(2, seed=5)) == 2
    with pytest.raises(TaskError, match="no eval file"):
        task.problems(split="eval")
    with pytest.raises(TaskError, match="holds 3"):
        task.problems(4)


@pytest.mark.parametrize(
    "bad, match",
    [
        ('{"question": "q", "answer": "4"', "not valid JSON"),
        ('{"question": "q"}', "string"),
        ('["q", "a"]', "string"),
        ('{"question": "q", "answer": "it is 4"}', "#### <number>"),
        ('{"question": "q", "answer": "#### four"}', "#### <number>"),
        ('{"question": "q", "answer": "#### 4 or 5"}', "#### <number>"),
    ],
)
def test_gsm8k_malformed_line_names_its_line(tmp_path, bad, match):
    path = _write_gsm8k(tmp_path / "bad.jsonl", [GOOD[0], "", bad])
    with pytest.raises(TaskError, match=match) as err:
        GSM8KTask(eval_path=path).problems(split="eval")
    assert f"{path}:3:" in str(err.value)


def test_gsm8k_paths(tmp_path):
    path = _write_gsm8k(tmp_path / "a.jsonl", GOOD)
    with pytest.raises(TaskError, match="same file"):
        GSM8KTask(path, path)
    with pytest.raises(TaskError, match="needs"):
        GSM8KTask()


def test_task_from_config(tmp_path):
    task = task_from_config("arithmetic", {"difficulty": "hard", "max_steps": 2, "operators": ["+"]})
    assert task.cfg == ArithmeticConfig(max_steps=2, max_operand=100, operators=("+",), max_value=10_000)
    assert isinstance(task_from_config("arithmetic"), ArithmeticTask)
    path = _write_gsm8k(tmp_path / "test.jsonl", GOOD)
    assert len(task_from_config("gsm8k", {"eval_path": str(path)}).problems(split="eval")) == 3
    for name, options, match in [
        ("arithmetic", {"steps": 3}, "unknown arithmetic options"),
        ("arithmetic", {"difficulty": "insane"}, "unknown difficulty"),
        ("gsm8k", {"path": "x"}, "unknown gsm8k options"),
        ("math", {}, "unknown task"),
        ("reasoning-gym:", {}, "unknown task"),
    ]:
        with pytest.raises(TaskError, match=match):
            task_from_config(name, options)


@pytest.mark.skipif(importlib.util.find_spec("reasoning_gym") is not None, reason="reasoning-gym is installed")
def test_reasoning_gym_missing_names_the_package():
    with pytest.raises(TaskError, match="pip install reasoning-gym"):
        task_from_config("reasoning-gym:leg_counting")


class _FakeDataset:
    """reasoning-gym's documented dataset API: indexable entries and score_answer(answer, entry) -> float."""

    def __init__(self, size, seed):
        self.size, self.seed = size, seed

    def __len__(self):
        return self.size

    def __getitem__(self, i):
        x = (self.seed + i) % 1000  # like reasoning-gym: item i depends on seed + i only
        return {"question": f"What is {x} + 1?", "answer": str(x + 1), "metadata": {}}

    def score_answer(self, answer, entry):
        return 1.0 if answer == entry["answer"] else 0.0


def test_reasoning_gym_adapter_with_the_documented_api(monkeypatch):
    calls = []

    def create_dataset(name, size, seed, **config):
        calls.append((name, config))
        return _FakeDataset(size, seed)

    monkeypatch.setitem(sys.modules, "reasoning_gym", types.SimpleNamespace(create_dataset=create_dataset))
    task = task_from_config("reasoning-gym:plus_one", {"eval_fraction": 0.2, "difficulty": 3})
    train, held = task.problems(50, seed=0), task.problems(20, seed=0, split="eval")
    assert calls[0] == ("plus_one", {"difficulty": 3})
    assert not {p.question for p in train} & {p.question for p in held}
    p = held[0]
    assert task.verify(p, f"work\n#### {p.answer}") and not task.verify(p, "#### -1")
    fresh = task_from_config("reasoning-gym:plus_one")  # another process: rebuilds the entry from the id
    assert fresh.verify(p, f"#### {p.answer}") and not fresh.verify(p, p.answer)
