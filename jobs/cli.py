"""The ``mixlake`` command line: one subcommand per stage, and a few for people.

Exit status is 0 on success, 2 for bad input or config (the message says what to change), 1 for anything else.
"""

from __future__ import annotations

import argparse
import logging
import sys

from rich.logging import RichHandler
from rich.table import Table
from rich_argparse import RawDescriptionRichHelpFormatter

from jobs.console import console, out, set_live
from jobs.stages import HELP

EPILOG = """\
examples:
  mixlake demo --docs 2000                     build the demo corpus and run every stage on it
  mixlake ingest --lake ./lake data/*.jsonl    JSONL / Parquet / HF dataset dirs -> bronze.documents
  mixlake embed --lake ./lake                  then quality, cluster, merge (each reads what the last wrote)
  mixlake pools --lake ./lake                  tokenizer + token pools; then search, shards, export
  mixlake search --lake ./lake                 CLIMB search + baselines; prints the re-measured comparison
  mixlake export --lake ./lake --dry-run       list the shard files a push to the Hub would upload
  mixlake tradeoff --lake ./lake               teacher accuracy vs its students' (after distill, evaluate)
  mixlake report --lake ./lake                 plots and an HTML page (report/index.html)
  mixlake tables --lake ./lake                 every table: version, rows, last writer
  mixlake sql --lake ./lake source_summary     a view from sql/ (see --list), or -e "select ..."
  mixlake config                               every setting and its default, as YAML
"""


STAGES = {k: v for k, v in HELP.items() if k != "ingest"}  # ingest has its own arguments


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lake", help="lake root: a local folder or a Hadoop URI (default ./lake)")
    p.add_argument("--config", help="YAML config file; unknown keys are rejected (see `mixlake config`)")
    p.add_argument("-v", "--verbose", action="store_true", help="log every step, and Spark's warnings")


def build_parser() -> argparse.ArgumentParser:
    fmt = RawDescriptionRichHelpFormatter
    parser = argparse.ArgumentParser(prog="mixlake", description=__doc__, epilog=EPILOG, formatter_class=fmt)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("demo", help="build the demo corpus and run every stage end to end", formatter_class=fmt)
    _add_common(p)
    p.add_argument("--docs", type=int, help="demo corpus size, split evenly across sources (default 20000)")
    p.add_argument("--seed", type=int, help="sampling seed (default 0)")

    p = sub.add_parser("corpus", help="only build the demo corpus (JSONL files, cached)", formatter_class=fmt)
    _add_common(p)
    p.add_argument("--docs", type=int)
    p.add_argument("--seed", type=int)

    p = sub.add_parser("ingest", help="raw files -> bronze.documents and ops.quarantine", formatter_class=fmt)
    _add_common(p)
    p.add_argument("paths", nargs="+", help="JSONL(.gz) / Parquet / Arrow files, directories or globs")
    p.add_argument("--source", help="source label for records without one (default: the file's stem)")
    p.add_argument("--max-chars", type=int, help="quarantine documents longer than this (default 1000000)")

    for name, help_text in STAGES.items():
        p = sub.add_parser(name, help=help_text, formatter_class=fmt)
        _add_common(p)
        if name == "search":
            p.description = (
                "CLIMB's bootstrapping mixture search, then its baselines in the same harness, every answer "
                "re-measured with fresh seeds. Resumable: rerun after a crash and only unfinished proxies train."
            )
            p.add_argument("--name", help="search / Optuna study name (default: derived from pool and settings)")
            p.add_argument("--proxies", type=int, help="CLIMB's proxy budget (default 14; split 4:2:1)")
            p.add_argument("--iterations", type=int, help="stop after this many iterations (resume later)")
            p.add_argument("--pick", choices=["measured", "predicted"], help="best trained mixture or predictor's")
            p.add_argument("--scheduler", help="Dask scheduler address (default: a LocalCluster here)")
        if name == "shards":
            p.description = (
                "Sample the chosen mixture to a token budget (repeats capped), shuffle, and write Hugging Face "
                "layout Parquet shards (data/train-NNNNN-of-NNNNN.parquet) with a manifest and a dataset card."
            )
            p.add_argument(
                "--mixture", help="a gold.mixtures mixture_id (default: the latest search's chosen one)"
            )
            p.add_argument("--tokens", type=int, help="token budget of the shard set (default 2000000)")
            p.add_argument("--out", help="output folder (default <lake>/_shards/<shard_set_id>)")
            p.add_argument("--seed", type=int, help="sampling and shuffle seed (default 0)")

    p = sub.add_parser(
        "export", help="push the shard folder to the Hugging Face Hub (or --dry-run)", formatter_class=fmt
    )
    _add_common(p)
    p.description = (
        "Push the latest shard set (or --shards-dir) to a Hub dataset repo. The token comes from $HF_TOKEN "
        "(export.token_env) or --token-file, and never appears in logs, tables or errors."
    )
    p.add_argument("--repo-id", help="Hub dataset repo, e.g. my-org/climbmix-demo")
    p.add_argument("--token-file", help="file holding the Hub token (default: the HF_TOKEN variable)")
    p.add_argument("--shards-dir", help="shard folder (default: the latest in gold.shards)")
    p.add_argument("--dry-run", action="store_true", help="list what would be uploaded; needs no token")
    p.add_argument("--public", action="store_true", help="create the repo public (default private)")

    p = sub.add_parser("report", help="PNG plots and an HTML page of what the lake holds", formatter_class=fmt)
    _add_common(p)
    p.add_argument("--out", help="output folder (default: report/ beside the lake)")

    p = sub.add_parser(
        "tradeoff",
        help="the paper's Figure 1 as a table: teacher accuracy vs accuracy of the student distilled from "
        "its traces",
        formatter_class=fmt,
    )
    _add_common(p)
    p.description = (
        "The antidistillation trade-off on the latest eval set: for every trace set (temperature grid and "
        "antidistillation lambdas, each seed) the teacher's accuracy on its own traces beside the pass@1 of the "
        "student distilled from them; then each setting's mean and std over seeds. Needs `mixlake traces`, "
        "`mixlake distill` and `mixlake evaluate` to have run (the rows: `mixlake sql tradeoff`)."
    )

    p = sub.add_parser("tables", help="every table: name, Delta version, rows, last writer", formatter_class=fmt)
    _add_common(p)

    p = sub.add_parser("sql", help="run a query or a view from sql/ against the lake", formatter_class=fmt)
    _add_common(p)
    p.add_argument("file", nargs="?", help="a .sql file or a view name from sql/ (e.g. source_summary)")
    p.add_argument("-e", "--execute", help="a query to run instead of a file")
    p.add_argument("--param", action="append", default=[], metavar="K=V", help="named parameter (:K in SQL)")
    p.add_argument("--limit", type=int, default=50, help="rows to print (default 50)")
    p.add_argument("--list", action="store_true", help="list the views in sql/ and exit")

    p = sub.add_parser("config", help="print every setting with its default, as YAML", formatter_class=fmt)
    p.add_argument("--config", help="show this file merged over the defaults")
    return parser


def _ours_or_warnings(record: logging.LogRecord) -> bool:
    # Libraries (great-expectations, py4j) set their own INFO levels; only mixlake's INFO reaches the terminal.
    return record.levelno >= logging.WARNING or record.name.split(".")[0] in ("mixlake", "jobs", "pipelines")


def _setup_logging(verbose: bool) -> None:
    handler = RichHandler(console=console, show_path=False)
    if not verbose:
        handler.addFilter(_ours_or_warnings)
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(message)s", handlers=[handler], force=True
    )
    logging.getLogger("mixlake").setLevel(logging.INFO)
    # SQLQueryContextLogger prints every Spark SQL error as a JSON blob; the CLI prints the message itself.
    logging.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL)
    for noisy in ("py4j", "great_expectations"):
        logging.getLogger(noisy).setLevel(logging.WARNING if verbose else logging.ERROR)


def _print_counts(title: str, counts: dict[str, int]) -> None:
    table = Table(title=title, show_header=True)
    table.add_column("count")
    table.add_column("value", justify="right")
    for k, v in counts.items():
        table.add_row(k, f"{v:,}" if isinstance(v, int) else f"{v:.3f}")
    out.print(table)


def _print_comparison(frame) -> None:
    """Each method's answer, re-measured with fresh seeds: the honest ranking, whatever it is."""
    if frame is None or frame.empty:
        console.print("no mixtures yet: the search stopped early (rerun `mixlake search` to finish it)")
        return
    table = Table(title=f"mixtures of search {frame['search'].iloc[0]} (target loss, lower is better)")
    for col in ("method", "re-measured mean", "± std", "seeds", "proxy runs", "chosen"):
        table.add_column(col, justify="left" if col == "method" else "right")
    for r in frame.itertuples():
        seeds = len(r.remeasured_seeds)
        table.add_row(
            r.method,
            f"{r.remeasured_mean:.4f}",
            f"{r.remeasured_std:.4f}",
            str(seeds),
            str(r.proxy_runs),
            "✓" if r.chosen else "",
        )
    out.print(table)


def _num(value, spread=None) -> str:
    if value is None:
        return "—"
    return f"{value:.3f}" if spread is None else f"{value:.3f} ± {spread:.3f}"


def _print_tradeoff(rows: list[dict], summary: list[dict]) -> None:
    """Every trace set with its seed, then each setting over its seeds: teacher accuracy vs student pass@1."""
    if not rows:
        console.print("no trace sets on an evaluated eval set yet: run `mixlake evaluate`")
        return
    table = Table(title=f"trade-off on eval set {rows[0]['eval_set_id']} (one row per trace set)")
    columns = ("method", "tau", "lambda", "seed", "traces", "teacher acc", "student pass@1", "student pass@n")
    for col in (*columns, "teacher pass@1"):
        table.add_column(col, justify="left" if col == "method" else "right")
    for r in rows:
        table.add_row(
            r["method"],
            f"{r['tau']:g}",
            f"{r['lam']:g}",
            str(r["seed"]),
            str(r["n_traces"]),
            _num(r["teacher_accuracy"]),
            _num(r["student_pass_at_1"]),
            _num(r["student_pass_at_n"]),
            _num(r["teacher_pass_at_1"]),
        )
    out.print(table)
    table = Table(title="per setting: mean ± sample std over seeds")
    for col in ("method", "tau", "lambda", "seeds", "teacher acc", "student pass@1"):
        table.add_column(col, justify="left" if col == "method" else "right")
    for s in summary:
        table.add_row(
            s["method"],
            f"{s['tau']:g}",
            f"{s['lam']:g}",
            str(s["n_seeds"]),
            _num(s["teacher_accuracy_mean"], s["teacher_accuracy_std"]),
            _num(s["student_pass_at_1_mean"], s["student_pass_at_1_std"]),
        )
    out.print(table)
    from jobs.tradeoff import paired_gaps  # here: jobs.tradeoff imports pyspark, and --help should not wait for it

    gaps = paired_gaps(rows)
    if gaps:
        table = Table(title="antidistillation minus the temperature set nearest in teacher accuracy, same seed")
        for col in (
            "tau",
            "lambda",
            "vs tau",
            "pairs",
            "teacher acc gap",
            "student pass@1 gap",
            "gap / std error",
        ):
            table.add_column(col, justify="right")
        for g in gaps:
            table.add_row(
                f"{g['tau']:g}",
                f"{g['lam']:g}",
                f"{g['baseline_tau']:g}",
                str(g["n_pairs"]),
                _num(g["teacher_gap_mean"], g["teacher_gap_std"]),
                _num(g["student_gap_mean"], g["student_gap_std"]),
                "—" if g["student_gap_t"] is None else f"{g['student_gap_t']:.1f}",
            )
        out.print(table)
    if any(r["student_pass_at_1"] is None for r in rows):
        console.print("trace sets without an evaluated student: run `mixlake distill`, then `mixlake evaluate`")


def _print_export(result: dict, dry_run: bool) -> None:
    table = Table(title=f"{'would upload' if dry_run else 'uploaded'} {result['shards_dir']}")
    table.add_column("file")
    table.add_column("bytes", justify="right")
    for f in result["files"]:
        table.add_row(f["path"], f"{f['bytes']:,}")
    out.print(table)
    where = result["url"] or (f"datasets/{result['repo_id']}" if result["repo_id"] else "no repo id set")
    console.print(f"{len(result['files'])} files -> {where}{' (dry run: nothing sent)' if dry_run else ''}")


def _print_tables(lake: str) -> None:
    from jobs.tables import list_tables

    infos = list_tables(lake)
    table = Table(title=f"tables in {lake}")
    for col, justify in [
        ("table", "left"),
        ("version", "right"),
        ("rows", "right"),
        ("last operation", "left"),
        ("last writer", "left"),
        ("at (UTC)", "left"),
    ]:
        table.add_column(col, justify=justify)
    for t in infos:
        table.add_row(t.name, str(t.version), f"{t.rows:,}", t.last_operation, t.last_writer, t.last_write)
    out.print(table if infos else f"no Delta tables under {lake} yet; run `mixlake demo` or `mixlake ingest`")


def _print_df(df, limit: int) -> None:
    rows = df.limit(limit + 1).collect()
    table = Table(show_header=True)
    for col in df.columns:
        table.add_column(col)
    for r in rows[:limit]:
        table.add_row(*["" if v is None else str(v)[:200] for v in r])
    out.print(table)
    if len(rows) > limit:
        console.print(f"(first {limit} rows; use --limit to see more)")


def dispatch(args: argparse.Namespace) -> None:
    from jobs import lake as lake_io
    from jobs.config import defaults_yaml, load_config, to_dict

    if args.command == "config":
        import yaml

        out.print(defaults_yaml() if not args.config else yaml.safe_dump(to_dict(load_config(args.config))))
        return

    overrides = {"lake": args.lake}
    if args.command in ("demo", "corpus"):
        overrides |= {"corpus.docs": args.docs, "corpus.seed": args.seed}
    if args.command == "ingest":
        overrides |= {"ingest.default_source": args.source, "ingest.max_chars": args.max_chars}
    if args.command == "shards":
        overrides |= {
            "shards.mixture": args.mixture,
            "shards.tokens": args.tokens,
            "shards.out_dir": args.out,
            "shards.seed": args.seed,
        }
    if args.command == "export":
        overrides |= {
            "export.repo_id": args.repo_id,
            "export.token_file": args.token_file,
            "export.shards_dir": args.shards_dir,
            "export.private": False if args.public else None,
        }
    if args.command == "search":
        overrides |= {
            "search.name": args.name,
            "search.total_proxies": args.proxies,
            "search.pick": args.pick,
            "search.scheduler": args.scheduler,
        }
    cfg = load_config(args.config, overrides)
    lake = lake_io.normalize_lake(cfg.lake)

    if args.command == "tables":
        _print_tables(lake)
    elif args.command == "corpus":
        from pathlib import Path

        from jobs.build_corpus import build_demo_corpus

        cache = Path(cfg.corpus.cache_dir) if cfg.corpus.cache_dir else None
        for path in build_demo_corpus(docs=cfg.corpus.docs, seed=cfg.corpus.seed, cache_dir=cache):
            out.print(str(path))
    elif args.command == "demo":
        from jobs.demo import run_demo

        counts, summary = run_demo(cfg)
        for job, job_counts in counts.items():
            _print_counts(f"{job} counts", job_counts)
        _print_tables(lake)
        _print_counts("curation summary", summary)
        from jobs.search import comparison
        from jobs.session import build_session
        from jobs.tradeoff import tradeoff_rows, tradeoff_summary

        spark = build_session(cfg.spark, lake)
        _print_comparison(comparison(spark, lake))
        rows = tradeoff_rows(spark, lake)
        _print_tradeoff(rows, tradeoff_summary(rows))
        console.print(
            f"[green]demo done.[/] Open report/index.html, or try: mixlake sql --lake {cfg.lake} source_summary"
        )
    elif args.command == "ingest":
        from jobs.stages import run_stage

        _print_counts("ingest counts", run_stage("ingest", cfg, inputs=args.paths))
    elif args.command == "report":
        from jobs.stages import run_report

        summary = run_report(config=args.config, lake=args.lake, out_dir=args.out)
        _print_counts("curation summary", summary)
    elif args.command == "search":
        from jobs.search import comparison
        from jobs.session import build_session
        from jobs.stages import run_stage

        _print_counts("search counts", run_stage("search", cfg, iterations=args.iterations))
        _print_comparison(comparison(build_session(cfg.spark, lake), lake))
    elif args.command == "tradeoff":
        from jobs.session import build_session
        from jobs.tradeoff import tradeoff_rows, tradeoff_summary

        rows = tradeoff_rows(build_session(cfg.spark, lake), lake)
        _print_tradeoff(rows, tradeoff_summary(rows))
    elif args.command == "export":
        from jobs.export import run_export
        from jobs.session import build_session

        _print_export(run_export(build_session(cfg.spark, lake), cfg, dry_run=args.dry_run), args.dry_run)
    elif args.command in STAGES:
        from jobs.stages import run_stage

        _print_counts(f"{args.command} counts", run_stage(args.command, cfg))
    elif args.command == "sql":
        from jobs.session import build_session
        from jobs.sql_runner import available_views, parse_params, resolve_query, run_sql

        if args.list:
            out.print("\n".join(available_views()))
            return
        _, sql = resolve_query(args.file, args.execute)
        params = parse_params(args.param)
        _print_df(run_sql(build_session(cfg.spark, lake), sql, params), args.limit)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _setup_logging(getattr(args, "verbose", False))
    set_live(True)
    from jobs.errors import USER_ERRORS

    try:
        dispatch(args)
    except USER_ERRORS as e:
        message = str(e).split("\n;")[0] if type(e).__module__.startswith("pyspark") else str(e)
        console.print(f"[bold red]error:[/] {message[:3000]}")
        return 2
    except Exception as e:  # noqa: BLE001 - the CLI's last line of defence: say what failed, keep the trace
        logging.getLogger("mixlake").exception("mixlake %s failed", args.command)
        console.print(f"[bold red]mixlake {args.command} failed:[/] {type(e).__name__}: {str(e)[:2000]}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
