"""DESIGN.md's folder table, enforced: each folder imports only what the table allows."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OURS = {"schemas", "pipelines", "jobs", "training", "airflow_dags", "tests", "benchmarks"}
ALLOWED = {
    "schemas": set(),
    "pipelines": {"schemas"},
    "training": set(),  # and nothing Spark, checked below
    "jobs": {"pipelines", "schemas", "training"},
    "airflow_dags": {"jobs"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_folders_import_only_what_design_allows():
    violations = []
    for folder, allowed in ALLOWED.items():
        for path in (ROOT / folder).rglob("*.py"):
            ours = (_imports(path) & OURS) - {folder}
            if ours - allowed:
                violations.append(f"{path.relative_to(ROOT)} imports {sorted(ours - allowed)}")
            if folder == "training" and _imports(path) & {"pyspark", "delta"}:
                violations.append(f"{path.relative_to(ROOT)} imports Spark")
    assert not violations, "\n".join(violations)


def test_checker_sees_a_violation(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from jobs.session import build_session\nimport pipelines.normalize\n")
    assert _imports(bad) & OURS == {"jobs", "pipelines"}
