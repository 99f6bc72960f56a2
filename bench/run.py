"""`python -m bench`: the whole main job against the tutorial-style baseline, in one run.

Figures are ratios against the baseline measured in the same invocation, alternating
the two so that machine noise hits both.
"""

from __future__ import annotations

import json
import re
import shutil
import statistics
import sys
from pathlib import Path

from bench.measure import Measurement, measure
from ingest.synthetic.generator import TARGETS
from ingest.synthetic.sample import write_sample

REAL_DATASET_ROWS = TARGETS["kimi"]["rows"] + TARGETS["glm-5.1"]["rows"]
DBT_RUN_RESULTS = Path(__file__).resolve().parent.parent / "target" / "run_results.json"

TIMINGS = re.compile(r"timings:\s+(.*)")


def _stages(output: str) -> dict[str, float]:
    match = TIMINGS.search(output)
    if not match:
        return {}
    return {name: float(value.rstrip("s")) for name, value in (part.split() for part in match.group(1).split(", "))}


def _bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def _data_files(root: Path, suffix: str) -> list[Path]:
    return sorted(root.glob(f"data/*/train.{suffix}"))


def _size_mb(paths: list[Path]) -> float:
    return sum(p.stat().st_size for p in paths) / 1e6


def _check(m: Measurement, what: str) -> Measurement:
    if m.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{m.stdout[-3000:]}")
    return m


def _warehouse(work: Path) -> Path:
    """Every run builds at the same path, as a user's warehouse is: dbt's parse cache (partial
    parsing) stays valid across runs, as it does across a user's runs."""
    return work / "warehouse.duckdb"


def _kept_warehouse(work: Path, tag: str) -> Path:
    return work / f"warehouse-{tag}.duckdb"


def run_project(source: Path, work: Path, tag: str) -> tuple[Measurement, dict[str, float]]:
    db = _warehouse(work)
    for leftover in (db, db.with_name(db.name + ".wal"), _kept_warehouse(work, tag)):
        leftover.unlink(missing_ok=True)
    m = _check(measure([_bin("traces"), "run", str(source), "--db", str(db), "--out", str(work / f"out-{tag}")]), tag)
    stages = _stages(m.stdout)
    stages["warehouse_mb"] = round(warehouse_bytes(db) / 1e6, 1)
    stages.update(data_test_seconds(DBT_RUN_RESULTS))
    db.rename(_kept_warehouse(work, tag))
    return m, stages


def warehouse_bytes(db: Path) -> int:
    """The DuckDB file and every file beside it that it owns (write-ahead log, spill directory)."""
    owned = [db, db.with_name(db.name + ".wal")]
    spill = db.with_name(db.name + ".tmp")
    if spill.is_dir():
        owned += [p for p in spill.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in owned if p.exists())


def data_test_seconds(run_results: Path) -> dict[str, float]:
    """Seconds the last `dbt build` spent in models and in data tests, from dbt's run results."""
    if not run_results.exists():
        return {}
    results = json.loads(run_results.read_text())["results"]
    tests = sum(r["execution_time"] for r in results if r["unique_id"].startswith("test."))
    models = sum(r["execution_time"] for r in results if r["unique_id"].startswith("model."))
    return {"build_models_s": round(models, 1), "build_tests_s": round(tests, 1)}


def run_floor(files: list[Path], work: Path) -> tuple[Measurement, int]:
    """The ingest's floor on the same files: Arrow parse, turns flattened, zstd parquet written."""
    out = work / "floor"
    shutil.rmtree(out, ignore_errors=True)
    m = _check(measure([sys.executable, "-m", "bench.floor", str(out), *map(str, files)]), "floor")
    written = int(m.stdout.rsplit("parquet bytes:", 1)[1].split()[0])
    shutil.rmtree(out, ignore_errors=True)
    return m, written


def run_baseline(files: list[Path], work: Path, tag: str) -> Measurement:
    return _check(measure([sys.executable, "-m", "bench.baseline", str(work / f"baseline-{tag}"), *map(str, files)]), tag)


def bench(
    rows: int, work: Path, repeats: int = 2, seed: int = 7, incremental: bool = True, parquet: bool = True,
    random_ids: bool = False, serve: bool = True, exports: bool = False,
) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    ids = "-random-ids" if random_ids else ""
    jsonl_dir, parquet_dir = work / f"jsonl{ids}", work / f"parquet{ids}"
    if not _data_files(jsonl_dir, "jsonl"):
        write_sample(rows, jsonl_dir, fmt="jsonl", seed=seed, random_ids=random_ids)
    jsonl_files = _data_files(jsonl_dir, "jsonl")
    results: dict = {
        "rows": rows, "random_ids": random_ids, "input_mb_jsonl": round(_size_mb(jsonl_files), 1), "runs": [],
    }
    for rep in range(repeats):
        base = run_baseline(jsonl_files, work, f"{rep}")
        floor, floor_bytes = run_floor(jsonl_files, work)
        proj, stages = run_project(jsonl_dir, work, f"jsonl-{rep}")
        results["runs"].append(
            {
                "baseline_s": round(base.wall_seconds, 2), "baseline_rss_mb": round(base.peak_rss_mb),
                "floor_s": round(floor.wall_seconds, 2), "floor_parquet_mb": round(floor_bytes / 1e6, 1),
                "project_s": round(proj.wall_seconds, 2), "project_rss_mb": round(proj.peak_rss_mb),
                "project_peak_at_s": round(proj.peak_at_seconds, 1),
                "stages_s": stages, "ratio": round(proj.wall_seconds / base.wall_seconds, 3),
            }
        )
        print(f"  run {rep + 1}: baseline {base.wall_seconds:.1f}s, project {proj.wall_seconds:.1f}s {stages}", flush=True)
    results["median_ratio"] = round(statistics.median(r["ratio"] for r in results["runs"]), 3)
    if parquet:
        if not _data_files(parquet_dir, "parquet"):
            write_sample(rows, parquet_dir, fmt="parquet", seed=seed, random_ids=random_ids)
        results["input_mb_parquet"] = round(_size_mb(_data_files(parquet_dir, "parquet")), 1)
        proj, stages = run_project(parquet_dir, work, "parquet")
        jsonl_median = statistics.median(r["project_s"] for r in results["runs"])
        results["parquet"] = {
            "project_s": round(proj.wall_seconds, 2), "project_rss_mb": round(proj.peak_rss_mb), "stages_s": stages,
            "ratio_to_jsonl": round(proj.wall_seconds / jsonl_median, 3),
        }
    if serve:
        from bench.serve import serve_timings

        last = max(work.glob("warehouse-jsonl-*.duckdb"), key=lambda p: p.stat().st_mtime)
        results["serve_ms"] = serve_timings(last)
        from bench.explorer import explorer_timings

        results["explorer"] = explorer_timings(last)
    if exports:
        from bench.exports import export_timings

        last = max(work.glob("warehouse-jsonl-*.duckdb"), key=lambda p: p.stat().st_mtime)
        results["exports"] = export_timings(last, work / "exports")
        from bench.exports import tokenizer_floor

        results["tokenizer_floor"] = tokenizer_floor(last, work / "tokenizer-floor")
    if incremental:
        results["incremental"] = _incremental(rows, work, seed, results["runs"][-1]["stages_s"], random_ids)
    shutil.rmtree(work / "baseline-0", ignore_errors=True)
    (work / "bench.json").write_text(json.dumps(results, indent=2))
    return results


def _incremental(rows: int, work: Path, seed: int, full_stages: dict[str, float], random_ids: bool) -> dict:
    """Add 10% new rows to the last full warehouse: ingest + build, against the full ingest + build."""
    new_dir = work / ("increment-random-ids" if random_ids else "increment")
    if not _data_files(new_dir, "jsonl"):
        write_sample(max(rows // 10, 2), new_dir, fmt="jsonl", seed=seed + 1000, random_ids=random_ids)
    db = _warehouse(work)
    db.unlink(missing_ok=True)
    last_full = max(work.glob("warehouse-jsonl-*.duckdb"), key=lambda p: p.stat().st_mtime)
    last_full.rename(db)
    ingest = _check(measure([_bin("traces"), "ingest", str(new_dir), "--db", str(db)]), "incremental ingest")
    build = _check(measure([_bin("traces"), "build", "--db", str(db)]), "incremental build")
    full = full_stages.get("ingest", 0) + full_stages.get("build", 0)
    spent = ingest.wall_seconds + build.wall_seconds
    return {
        "new_rows": max(rows // 10, 2), "ingest_s": round(ingest.wall_seconds, 2), "build_s": round(build.wall_seconds, 2),
        "full_ingest_build_s": round(full, 2), "ratio_to_full": round(spent / full, 3) if full else None,
    }


def render_table(results: dict) -> str:
    lines = [
        f"rows {results['rows']} ({results['rows'] / REAL_DATASET_ROWS:.1f}x the real dataset)"
        f"{' (random ids)' if results.get('random_ids') else ''}, "
        f"JSONL {results['input_mb_jsonl']} MB"
        + (f", parquet {results['input_mb_parquet']} MB" if "input_mb_parquet" in results else ""),
        "",
        "| run | baseline s | project s | ingest s | build s | export s | report s | ratio | project peak RSS MB | baseline peak RSS MB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for i, r in enumerate(results["runs"], start=1):
        s = r["stages_s"]
        lines.append(
            f"| jsonl {i} | {r['baseline_s']} | {r['project_s']} | {s.get('ingest')} | {s.get('build')} | "
            f"{s.get('export')} | {s.get('report')} | {r['ratio']} | {r['project_rss_mb']} | {r['baseline_rss_mb']} |"
        )
    lines += ["", render_floor_and_size(results)]
    if "parquet" in results:
        p, s = results["parquet"], results["parquet"]["stages_s"]
        lines.append(
            f"| parquet | | {p['project_s']} | {s.get('ingest')} | {s.get('build')} | {s.get('export')} | "
            f"{s.get('report')} | {p['ratio_to_jsonl']} (vs JSONL) | {p['project_rss_mb']} | |"
        )
    lines.append("")
    lines.append(f"median ratio project/baseline: {results['median_ratio']:.3f}")
    if "incremental" in results:
        inc = results["incremental"]
        lines.append(
            f"incremental: +{inc['new_rows']} rows: ingest {inc['ingest_s']} s + build {inc['build_s']} s = "
            f"{inc['ratio_to_full']} of the full ingest + build ({inc['full_ingest_build_s']} s)"
        )
    if "serve_ms" in results:
        lines += ["", "| traces serve page | median ms | slowest ms |", "|---|---|---|"]
        lines += [f"| {name} | {t['median_ms']} | {t['max_ms']} |" for name, t in results["serve_ms"].items()]
    if "explorer" in results:
        from bench.explorer import render_explorer

        lines += ["", render_explorer(results["explorer"])]
    if "exports" in results:
        from bench.exports import render_exports

        lines += ["", render_exports(results["exports"])]
    if "tokenizer_floor" in results:
        floor = results["tokenizer_floor"]
        default = next((r for r in results.get("exports", []) if r["format"] == "trl-messages"), None)
        ratio = f"; the default export (trl-messages, tokens counted) {default['seconds'] / floor['seconds']:.2f}x it" if default else ""
        lines.append(
            f"tokenizer floor: {floor['tokens']:,} tokens of {floor['rendered_mb']} MB rendered text in {floor['seconds']} s "
            f"on {floor['workers']} processes ({floor['mb_per_s']} MB/s){ratio}"
        )
    return "\n".join(lines)


def render_floor_and_size(results: dict) -> str:
    """Per run: the ingest against its floor, the tests' share of the build, the warehouse against the input."""
    lines = [
        "| run | floor s (parse + turns + zstd parquet) | ingest / floor | floor parquet MB | build: models s | "
        "build: data tests s (share) | warehouse MB | warehouse / input | peak RSS reached at s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for i, r in enumerate(results["runs"], start=1):
        s = r["stages_s"]
        ingest, floor = s.get("ingest"), r.get("floor_s")
        tests, models = s.get("build_tests_s"), s.get("build_models_s")
        share = f" ({tests / (tests + models):.0%})" if tests is not None and models else ""
        size = s.get("warehouse_mb")
        lines.append(
            f"| jsonl {i} | {floor} | {round(ingest / floor, 2) if ingest and floor else ''} | {r.get('floor_parquet_mb')} | "
            f"{models} | {tests}{share} | {size} | {round(size / results['input_mb_jsonl'], 3) if size else ''} | "
            f"{r.get('project_peak_at_s')} |"
        )
    return "\n".join(lines)
