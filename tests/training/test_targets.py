"""Target specs, multiple-choice scoring by answer likelihood, and the picklable proxy objective."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from training.proxy import ProxyConfig
from training.targets import ChoiceSet, ProxyObjective, TargetError, parse_target, parse_targets, read_jsonl
from training.tokenizer import encode_documents, train_bpe

TEXT = ["the cat sat on the mat and the dog sat on the log"] * 40


@pytest.fixture(scope="module")
def tok():
    return train_bpe(TEXT + ["one two three four five six seven eight"] * 20, vocab_size=300)


def test_target_specs_parse_and_bad_ones_name_the_fix():
    assert parse_target("holdout") == parse_target("holdout@1")
    t = parse_target("choice:/x/tasks.jsonl@0.5")
    assert (t.kind, t.arg, t.weight, t.name) == ("choice", "/x/tasks.jsonl", 0.5, "choice-tasks")
    assert parse_target("holdout:python-docs").name == "holdout-python-docs"
    with pytest.raises(TargetError, match="kind must be one of"):
        parse_target("valid:x.jsonl")
    with pytest.raises(TargetError, match="needs a file"):
        parse_target("text")
    with pytest.raises(TargetError, match="distinct name"):
        parse_targets(["text:a/v.jsonl", "text:b/v.jsonl"])
    with pytest.raises(TargetError, match="empty"):
        parse_targets([])


def test_jsonl_errors_carry_the_line(tmp_path):
    (tmp_path / "t.jsonl").write_text('{"context": "a", "choices": ["x", "y"], "answer": 0}\n{"context": "b"}\n')
    with pytest.raises(TargetError, match=r"t.jsonl:2: missing field\(s\) \['choices', 'answer'\]"):
        read_jsonl(str(tmp_path / "t.jsonl"), ["context", "choices", "answer"])
    with pytest.raises(TargetError, match="does not exist"):
        read_jsonl(str(tmp_path / "nope.jsonl"), ["text"])


def test_objective_trains_a_proxy_that_prefers_the_right_pool(tok):
    """A pool of the target's own text beats an unrelated pool, on text loss and on the choice task."""
    cat = encode_documents(tok, TEXT)
    nums = encode_documents(tok, ["one two three four five six seven eight"] * 40)
    choices = ChoiceSet.from_records(
        [{"context": "the cat sat on the", "choices": ["mat", "seven"], "answer": 0}] * 4, tok
    )
    import tempfile

    d = tempfile.mkdtemp()
    np.save(f"{d}/cat.npy", cat)
    np.save(f"{d}/nums.npy", nums)
    cfg = ProxyConfig(
        vocab_size=len(tok),
        n_layer=1,
        n_embd=32,
        n_head=2,
        block_size=16,
        batch_size=8,
        train_tokens=3000,
        eval_tokens=256,
        warmup_steps=2,
    )
    objective = ProxyObjective(
        cfg,
        ((f"{d}/cat.npy",), (f"{d}/nums.npy",)),
        {"text": cat[:300], "mc": choices},
        {"text": 1.0, "mc": 1.0},
        threads=1,
    )
    objective = pickle.loads(pickle.dumps(objective))  # it travels to Dask workers
    on_cat, on_nums = objective(np.array([0.9, 0.1]), 0), objective(np.array([0.1, 0.9]), 0)
    assert on_cat["loss/text"] < on_nums["loss/text"] and on_cat["loss/mc"] < on_nums["loss/mc"]
    assert on_cat["objective"] == pytest.approx((on_cat["loss/text"] + on_cat["loss/mc"]) / 2)
    assert on_cat["acc/mc"] == 1.0 and on_cat["tokens_per_second"] > 0
    assert objective(np.array([0.9, 0.1]), 0)["objective"] == pytest.approx(on_cat["objective"], rel=1e-5)
