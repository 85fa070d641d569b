"""`mixlake tables`, `mixlake sql` (named parameters, sql/ views) and names reachable from a new process."""

from __future__ import annotations

import subprocess
import sys

import pytest

from jobs import lake as lake_io
from jobs.cli import main
from jobs.config import load_config
from jobs.ingest import run_ingest
from jobs.session import register_lake_tables
from jobs.sql_runner import resolve_query, run_sql
from jobs.tables import list_tables
from tests.conftest import write_jsonl


@pytest.fixture(scope="module")
def small_lake(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("people")
    a = write_jsonl(root / "alpha.jsonl", [{"text": f"alpha doc {i}"} for i in range(3)])
    b = write_jsonl(root / "beta.jsonl", [{"text": "beta doc"}, b"{broken"])
    cfg = load_config(overrides={"lake": str(root / "lake")})
    run_ingest(spark, cfg, [str(a), str(b)])
    lake = lake_io.normalize_lake(cfg.lake)
    register_lake_tables(spark, lake)
    return lake


def test_tables_lists_versions_rows_and_writer(small_lake):
    infos = {t.name: t for t in list_tables(small_lake)}
    assert set(infos) == {"bronze.documents", "ops.quarantine", "ops.runs", "ops.dq_results"}
    assert infos["bronze.documents"].rows == 4 and infos["ops.quarantine"].rows == 1
    assert infos["bronze.documents"].last_writer.startswith("ingest:")


def test_source_summary_view_takes_named_parameters(spark, small_lake):
    _, sql = resolve_query("source_summary", None)
    all_rows = {r.source: r.n_docs for r in run_sql(spark, sql, {}).collect()}
    assert all_rows == {"alpha": 3, "beta": 1}
    assert [r.source for r in run_sql(spark, sql, {"min_docs": 2}).collect()] == ["alpha"]


def test_parameters_are_bound_not_formatted(spark, small_lake):
    _, sql = resolve_query("quarantine_summary", None)
    assert [r.reason for r in run_sql(spark, sql, {}).collect()] == ["invalid_json"]
    assert run_sql(spark, sql, {"job": "ingest' or '1'='1"}).count() == 0


def test_cli_sql_and_tables_exit_codes(small_lake, capsys):
    assert main(["sql", "--lake", small_lake, "-e", "select count(*) as n from bronze.documents"]) == 0
    assert "4" in capsys.readouterr().out
    assert main(["sql", "--lake", small_lake, "-e", "select * from bronze.no_such_table"]) == 2
    assert "no_such_table" in capsys.readouterr().err
    assert main(["tables", "--lake", small_lake]) == 0
    assert "bronze.documents" in capsys.readouterr().out


def test_bad_config_exits_2_with_the_fix(tmp_path, capsys):
    bad = tmp_path / "c.yaml"
    bad.write_text("spark:\n  mastr: local\n")
    assert main(["tables", "--config", str(bad)]) == 2
    assert "Did you mean 'spark.master'" in capsys.readouterr().err


def test_tables_reachable_by_name_from_a_new_process(small_lake):
    code = (
        "from jobs.session import build_session;"
        f"s = build_session(lake={small_lake!r});"
        "print('ROWS', s.sql('select count(*) from bronze.documents').first()[0])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert "ROWS 4" in out.stdout, out.stderr[-2000:]


def test_quoted_header_default_is_the_empty_string_a_view_compares_with():
    from jobs.sql_runner import default_params

    assert default_params("-- param: search = ''   (a search name; empty: every search)") == {"search": ""}
    assert default_params("-- param: k = 4") == {"k": 4}
    assert default_params(resolve_query("chosen_weights", None)[1]) == {"search": ""}
