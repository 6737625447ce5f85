"""The DTW side of the study (Algorithm 1): medoid matrix throughput, DBA speed, the whole archive.

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_similarity.py [--archive ../shared/ucr/UCRArchive_2018]
        [--threads 2] [--repeats 3] [--matrix-repeats 5] [--skip-full | --only-full]
        [--snakemake]

About 12 minutes on 2 lightly loaded cores with ``--snakemake`` (parts 3 and 4 each compute
the whole archive); figures and their discussion: ``benchmarks/RESULTS.md``.

Three measurements with ``OMP_NUM_THREADS=--threads`` (2: the 2-core machine), and a fourth
with ``--snakemake``:

1. **Within-class DTW matrix.** ``prototypes.medoid`` (our path: ``dtw.pairwise``, the
   squared sums and the argmin) against plain ``dtaidistance.dtw.distance_matrix_fast`` on the
   same class (as a float64 matrix, its fastest input), alternated ``--matrix-repeats`` times; the
   best run of each (the machine is shared: the best run is the least disturbed) gives
   Mcells/s = sum over pairs of n_i x n_j / seconds, and the ratio ours / plain (goal >= 0.9).
2. **DBA.** ``prototypes.dba`` (10 iterations from the medoid) against tslearn's
   ``dtw_barycenter_averaging`` (its default, the majorise-minimise form of DBA) and
   ``dtw_barycenter_averaging_petitjean`` (the 2011 update, as ours), same start,
   ``max_iter=10, tol=0`` (ten iterations), warmed up first so numba's compilation is not
   timed; all single-threaded, best of ``--repeats``. As a check, the final inertia of each
   average and the largest difference between ours and tslearn's.
3. **The whole DTW side**: prototypes of every dataset under ``--archive`` (train split,
   ``fill_missing`` on, unconstrained window, 10 DBA iterations) one dataset after the other,
   then the dataset x dataset matrix from scratch (no cache). Per dataset: wall and CPU
   seconds, the within-class Gcells and the share of the dataset's time taken by its largest
   class; the peak resident memory (part 3 runs in a child process of its own, so that parts
   1 and 2, tslearn's full warping matrices among them, do not count).
4. With ``--snakemake``, the same work through the rules (``prototypes``, ``dtw_distance``,
   ``dtw_neighbours``) in a temporary folder, ``--cores --threads``, timed end to end (job
   start-ups included), with the jobs' CPU seconds and peak memory from their ``benchmark:``
   files.

The load average is printed with every part: other people's jobs on a shared machine slow
the wall-clock figures; CPU seconds are less affected.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--archive", default=str(REPO.parent / "shared/ucr/UCRArchive_2018"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3, help="part 2 (DBA) runs")
    parser.add_argument("--matrix-repeats", type=int, default=5, help="part 1 runs")
    parser.add_argument(
        "--matrix-classes",
        nargs="+",
        default=["DistalPhalanxOutlineCorrect", "Ham"],
        help="datasets whose largest class is timed in part 1",
    )
    parser.add_argument(
        "--dba-classes", nargs="+", default=["Computers", "PhalangesOutlinesCorrect"]
    )
    parser.add_argument("--skip-full", action="store_true")
    parser.add_argument(
        "--only-full", action="store_true", help="part 3 alone (its JSON on stderr)"
    )
    parser.add_argument("--snakemake", action="store_true")
    return parser.parse_args()


ARGS = _args() if __name__ == "__main__" else None
if ARGS is not None:
    # dtaidistance's OpenMP reads this when the library loads
    os.environ["OMP_NUM_THREADS"] = str(ARGS.threads)

import json  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(REPO / "src"))
import dtaidistance.dtw  # noqa: E402

from transfer_tsc.data import list_datasets, load_dataset  # noqa: E402
from transfer_tsc.similarity import distances as similarity  # noqa: E402
from transfer_tsc.similarity import dtw, prototypes  # noqa: E402


def peak_rss_mb() -> float:
    """This process's peak resident memory: VmHWM, which starts afresh at exec (ru_maxrss
    would carry over the parent's peak from the fork)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def timed(function):
    wall, cpu = time.perf_counter(), time.process_time()
    value = function()
    return value, time.perf_counter() - wall, time.process_time() - cpu


def largest_class(archive: str, name: str) -> list[np.ndarray]:
    data = load_dataset(archive, name, fill_missing=True)
    code = int(np.bincount(data.y_train).argmax())
    series = data.series("train")
    return [series[i] for i in np.flatnonzero(data.y_train == code)]


def pair_cells(series) -> float:
    lengths = np.array([len(s) for s in series], dtype=float)
    return 0.5 * (lengths.sum() ** 2 - (lengths**2).sum())


def timed_prototypes(series, labels, n_classes) -> tuple[list[np.ndarray], np.ndarray]:
    """``prototypes.class_prototypes``' work (medoid, then 10 DBA iterations, every class, no
    window), with each class's medoid and DBA wall seconds, shape (classes, 2)."""
    protos, seconds = [], []
    for code in range(n_classes):
        members = [series[i] for i in np.flatnonzero(labels == code)]
        (index, _), medoid_s, _ = timed(lambda: prototypes.medoid(members))
        result, dba_s, _ = timed(lambda: prototypes.dba(members, members[index], 10))
        protos.append(result.barycenter)
        seconds.append((medoid_s, dba_s))
    return protos, np.asarray(seconds)


def part_matrix(args) -> list[dict]:
    print(f"\n## 1. Within-class DTW matrix (OMP threads {args.threads}; load {load()})")
    rows = []
    for name in args.matrix_classes:
        members = largest_class(args.archive, name)
        matrix = np.vstack(members)
        cells = pair_cells(members)
        walls = {"ours": [], "plain": []}
        cpus = {"ours": [], "plain": []}
        for _ in range(args.matrix_repeats):
            for label, run in (
                ("plain", lambda: dtaidistance.dtw.distance_matrix_fast(matrix)),
                ("ours", lambda: prototypes.medoid(members)),
            ):
                _, wall, cpu = timed(run)
                walls[label].append(wall)
                cpus[label].append(cpu)
        best = {label: (min(walls[label]), min(cpus[label])) for label in walls}
        median = {label: float(np.median(walls[label])) for label in walls}
        row = {
            "class": f"{name} (largest class: {len(members)} x {len(members[0])})",
            "gcells": cells / 1e9,
            "ours_mcells_s": cells / best["ours"][0] / 1e6,
            "plain_mcells_s": cells / best["plain"][0] / 1e6,
            "ours_cpu_s": best["ours"][1],
            "plain_cpu_s": best["plain"][1],
            "ratio_median": median["plain"] / median["ours"],
            "walls": walls,
        }
        row["ratio"] = row["ours_mcells_s"] / row["plain_mcells_s"]
        rows.append(row)
        print(
            f"{row['class']}: {row['gcells']:.3f} Gcells; ours {row['ours_mcells_s']:.0f} "
            f"Mcells/s, plain distance_matrix_fast {row['plain_mcells_s']:.0f} Mcells/s, "
            f"ratio {row['ratio']:.3f} (best of {args.matrix_repeats}; of the medians "
            f"{row['ratio_median']:.3f}; CPU s {row['ours_cpu_s']:.2f} vs "
            f"{row['plain_cpu_s']:.2f}; load {load()})"
        )
    return rows


def part_dba(args) -> list[dict]:
    from tslearn.barycenters import (
        dtw_barycenter_averaging,
        dtw_barycenter_averaging_petitjean,
    )

    print(f"\n## 2. DBA, 10 iterations from the medoid (load {load()})")
    rng = np.random.default_rng(0)
    for warm in (dtw_barycenter_averaging, dtw_barycenter_averaging_petitjean):
        warm(rng.normal(size=(4, 16)), init_barycenter=rng.normal(size=16), max_iter=2)
    rows = []
    for name in args.dba_classes:
        members = largest_class(args.archive, name)
        start, _ = prototypes.medoid(members)
        init = members[start]
        stacked = np.vstack(members)[:, :, None]
        runs = {
            "ours": lambda: prototypes.dba(members, init, 10).barycenter,
            # tol=0: never stops early (it stops when the cost changes by less than tol)
            "tslearn": lambda: dtw_barycenter_averaging(
                stacked, init_barycenter=init[:, None], max_iter=10, tol=0.0
            )[:, 0],
            "tslearn_petitjean": lambda: dtw_barycenter_averaging_petitjean(
                stacked, init_barycenter=init[:, None], max_iter=10, tol=0.0
            )[:, 0],
        }
        best = {label: np.inf for label in runs}
        averages = {}
        for _ in range(args.repeats):
            for label, run in runs.items():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    averages[label], wall, _ = timed(run)
                best[label] = min(best[label], wall)
        inertia = {
            label: float(dtw.cross(members, [average]).sum()) for label, average in averages.items()
        }
        row = {
            "class": f"{name} (largest class: {len(members)} x {len(init)})",
            "ours_s": best["ours"],
            "tslearn_s": best["tslearn"],
            "tslearn_petitjean_s": best["tslearn_petitjean"],
            "speedup": best["tslearn"] / best["ours"],
            "max_abs_difference_petitjean": float(
                np.abs(averages["ours"] - averages["tslearn_petitjean"]).max()
            ),
            "max_abs_difference_tslearn": float(
                np.abs(averages["ours"] - averages["tslearn"]).max()
            ),
            "final_inertia": inertia,
        }
        rows.append(row)
        print(
            f"{row['class']}: ours {row['ours_s']:.2f} s, tslearn dtw_barycenter_averaging "
            f"{row['tslearn_s']:.2f} s (ours {row['speedup']:.2f}x faster), tslearn "
            f"petitjean {row['tslearn_petitjean_s']:.2f} s (best of {args.repeats}). Final "
            f"inertia ours {inertia['ours']:.6g}, tslearn {inertia['tslearn']:.6g}, petitjean "
            f"{inertia['tslearn_petitjean']:.6g}; ours vs petitjean max |diff| "
            f"{row['max_abs_difference_petitjean']:.1e}, vs tslearn (MM variant: other optimal "
            f"paths on ties) {row['max_abs_difference_tslearn']:.1e}; load {load()}"
        )
    return rows


def part_full(args) -> dict:
    names = list_datasets(args.archive)
    print(
        f"\n## 3. Whole DTW side: {len(names)} datasets (OMP threads {args.threads}; load {load()})"
    )
    rows, sets = [], {}
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for name in names:
        data, load_wall, _ = timed(lambda: load_dataset(args.archive, name, fill_missing=True))
        series = data.series("train")
        classes = [
            [series[i] for i in np.flatnonzero(data.y_train == k)] for k in range(data.n_classes)
        ]
        cells = [pair_cells(c) for c in classes]
        (sets[name], seconds), wall, cpu = timed(
            lambda: timed_prototypes(series, data.y_train, data.n_classes)
        )
        per_class = seconds.sum(axis=1)
        biggest = int(np.argmax(cells))
        rows.append(
            {
                "dataset": name,
                "n_train": len(series),
                "classes": data.n_classes,
                "length": data.length,
                "gcells": sum(cells) / 1e9,
                "wall_s": wall + load_wall,
                "cpu_s": cpu,
                "medoid_s": float(seconds[:, 0].sum()),
                "dba_s": float(seconds[:, 1].sum()),
                "largest_class_size": len(classes[biggest]),
                "largest_class_share": float(per_class[biggest] / per_class.sum()),
            }
        )
        r = rows[-1]
        print(
            f"{name:32s} {r['n_train']:5d} x {r['length']:5d}, {r['classes']:2d} classes, "
            f"{r['gcells']:7.3f} Gcells: {r['wall_s']:7.2f} s (CPU {r['cpu_s']:7.2f} s), largest "
            f"class ({r['largest_class_size']}) {100 * r['largest_class_share']:5.1f}%",
            flush=True,
        )
    prototypes_wall = time.perf_counter() - wall0
    (matrix, new), matrix_wall, matrix_cpu = timed(lambda: similarity.dataset_matrix(sets, None))
    total_wall = time.perf_counter() - wall0
    total_cpu = time.process_time() - cpu0
    peak_mb = peak_rss_mb()
    medoid_s = sum(r["medoid_s"] for r in rows)
    dba_s = sum(r["dba_s"] for r in rows)
    print(
        f"medoid matrices {medoid_s:.1f} s, DBA {dba_s:.1f} s (wall, summed over datasets)\n"
        f"matrix: {len(new)} pairs of {len(sets)} datasets "
        f"({sum(len(p) for p in sets.values())} prototypes) in {matrix_wall:.2f} s (CPU "
        f"{matrix_cpu:.2f} s)\nTOTAL {total_wall:.1f} s wall ({total_wall / 60:.2f} min), CPU "
        f"{total_cpu:.1f} s; prototypes {prototypes_wall:.1f} s; peak RSS {peak_mb:.0f} MB; "
        f"load {load()}",
        flush=True,
    )
    return {
        "datasets": rows,
        "prototypes_wall_s": prototypes_wall,
        "matrix_wall_s": matrix_wall,
        "medoid_s": medoid_s,
        "dba_s": dba_s,
        "matrix_pairs": len(new),
        "total_wall_s": total_wall,
        "total_cpu_s": total_cpu,
        "peak_rss_mb": peak_mb,
    }


def part_snakemake(args) -> dict:
    names = list_datasets(args.archive)
    print(f"\n## 4. The same through Snakemake (--cores {args.threads}; load {load()})")
    with tempfile.TemporaryDirectory(prefix="bench_similarity_") as folder:
        config = Path(folder) / "bench.yaml"
        config.write_text(
            json.dumps(
                {
                    "ucr_root": str(Path(args.archive).resolve()),
                    "datasets": names,
                    "data": {"fill_missing": True},
                }
            )
        )
        command = [
            str(Path(sys.executable).parent / "snakemake"),
            "-s",
            str(REPO / "Snakefile"),
            "--directory",
            folder,
            "--configfile",
            str(config),
            "--cores",
            str(args.threads),
            "results/similarity/dtw_distance.csv",
            "results/similarity/neighbours.csv",
        ]
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if done.returncode != 0:
            print(done.stderr[-3000:])
            raise SystemExit("snakemake failed")

        def job(path: Path) -> dict:
            header, values = path.read_text().splitlines()[:2]
            return dict(zip(header.split("\t"), values.split("\t")))

        jobs = [job(p) for p in sorted(Path(folder, "results/benchmarks/prototypes").glob("*.tsv"))]
        matrix_job = job(Path(folder, "results/benchmarks/similarity/dtw_distance.tsv"))
    job_s = sum(float(j["s"]) for j in jobs)
    job_cpu = sum(float(j["cpu_time"]) for j in jobs)
    max_rss = max(float(j["max_rss"]) for j in jobs + [matrix_job])
    print(
        f"snakemake end to end: {wall:.1f} s ({wall / 60:.2f} min); {len(jobs)} prototypes jobs "
        f"{job_s:.1f} s together (CPU {job_cpu:.1f} s), dtw_distance job "
        f"{float(matrix_job['s']):.1f} "
        f"s (CPU {float(matrix_job['cpu_time']):.1f} s); largest job RSS {max_rss:.0f} MB; "
        f"load {load()}"
    )
    return {
        "wall_s": wall,
        "prototypes_jobs_s": job_s,
        "prototypes_jobs_cpu_s": job_cpu,
        "matrix_job_s": float(matrix_job["s"]),
        "matrix_job_cpu_s": float(matrix_job["cpu_time"]),
        "max_job_rss_mb": max_rss,
    }


def main() -> None:
    args = ARGS
    sys.stdout.reconfigure(line_buffering=True)
    dtw.self_check(None)
    if args.only_full:  # the child process of part 3: its peak memory is the DTW side's alone
        print(json.dumps(part_full(args)), file=sys.stderr)
        return
    print(
        f"# bench_similarity: dtaidistance {__import__('dtaidistance').__version__}, "
        f"{os.cpu_count()} CPUs, OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}"
    )
    results = {"load_start": load(), "matrix": part_matrix(args), "dba": part_dba(args)}
    if not args.skip_full:
        child = subprocess.run(
            [
                sys.executable,
                __file__,
                "--only-full",
                "--archive",
                args.archive,
                "--threads",
                str(args.threads),
            ],
            stdout=sys.stdout,
            stderr=subprocess.PIPE,
            text=True,
        )
        if child.returncode != 0:
            raise SystemExit(child.stderr[-3000:])
        results["full"] = json.loads(child.stderr.strip().splitlines()[-1])
    if args.snakemake:
        results["snakemake"] = part_snakemake(args)
    results["load_end"] = load()
    out = REPO / "benchmarks/out/bench_similarity.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\n-> {out}")


if __name__ == "__main__":
    main()
