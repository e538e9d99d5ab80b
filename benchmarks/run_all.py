"""Run the whole benchmark suite and write ``benchmarks/results.md``.

    python benchmarks/run_all.py            # full sizes (about 15 minutes on one core)
    python benchmarks/run_all.py --quick    # smaller sizes, writes results_quick.md

Every (problem, package) measurement runs in a fresh subprocess with one thread; see
README.md for the protocol.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import sys
import time

import _common  # noqa: F401  (one-thread environment first)
import bench_population
import bench_single
import bench_sparse
from _common import HERE, TARGET_GAP, bench_main, fmt_t, summarise, thread_setting

BENCHES = [("single", bench_single), ("population", bench_population), ("sparse", bench_sparse)]


def _versions():
    out = []
    for mod in (
        "xglm",
        "jax",
        "numpy",
        "scipy",
        "sklearn",
        "glum",
        "statsmodels",
        "nemos",
        "skglm",
    ):
        try:
            m = __import__(mod)
            out.append(f"{mod} {getattr(m, '__version__', '?')}")
        except Exception:  # noqa: BLE001
            out.append(f"{mod} (not installed)")
    return ", ".join(out)


def main(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument(
        "--rounds", type=int, default=2, help="timing rounds, the second in reverse order"
    )
    ap.add_argument("--benches", nargs="*", default=[b for b, _ in BENCHES])
    ap.add_argument(
        "--from-json", action="store_true", help="only rebuild the markdown from the saved JSON"
    )
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    done = []
    sections = []
    revision = _common.revision()
    for name, mod in BENCHES:
        if name not in args.benches:
            continue
        if args.from_json:
            outdir = HERE / ("results_quick" if args.quick else "results")
            for title, prob, _, _ in mod.problems(args.quick):
                path = outdir / f"{prob['name']}.json"
                if path.exists():
                    res = json.loads(path.read_text())
                    done.append((title, res))
                    sections.append(_common.markdown_table(res, title))
            continue
        extra = ["--repeats", str(args.repeats), "--rounds", str(args.rounds)]
        extra += ["--quick"] if args.quick else []
        for title, res in bench_main(name, mod.problems, extra):
            done.append((title, res))
            sections.append(_common.markdown_table(res, title))
    elapsed = time.perf_counter() - t0
    if args.from_json:
        elapsed = sum(res.get("elapsed", 0.0) for _, res in done)
        revs = list(dict.fromkeys(res.get("revision", "an unrecorded revision") for _, res in done))
        revision = "; ".join(revs)

    head = [
        "# xglm benchmarks" + (" (quick sizes)" if args.quick else ""),
        "",
        f"Generated {datetime.date.today().isoformat()} by `python benchmarks/run_all.py"
        + (" --quick" if args.quick else "")
        + (" --from-json" if args.from_json else "")
        + ("` (tables rebuilt from the saved JSON; measuring took " if args.from_json else "` in ")
        + f"{elapsed / 60:.1f} min{')' if args.from_json else ''} on {platform.machine()} / Python {platform.python_version()}, "
        + f"xglm at {revision}.",
        f"Packages: {_versions()}.",
        "",
        f"One thread for every package: `{thread_setting()}` (set before numpy/jax are imported).",
        "Each (problem, package) pair runs in a fresh subprocess: the first call (compilation",
        "included for JAX and numba packages) is timed on its own; warm time is the median of",
        f"{args.repeats} further calls (fewer when one call exceeds {_common.SLOW_CALL_S:.0f} s)"
        + (
            "; the warm calls are timed in two rounds, the second in a new process and in "
            "the reverse order of the packages, and the lower median is kept (a slowdown of "
            "the shared machine during one package's turn then does not decide a ratio)."
            if any("warm_rounds" in r for _, res in done for r in res["results"].values())
            else "."
        ),
        "Each package's",
        "tolerance is the loosest of its ladder that reaches a relative objective gap < 1e-6",
        "against the best objective found by any solve (tight reference solves included); the",
        "gap is reported either way (✗ = target missed). Objectives are xglm's, evaluated in",
        "float64 numpy on every package's solution. Peak extra RSS is VmHWM minus VmRSS just",
        "before the call, over the design size. The machine is shared with other work: process",
        "CPU times are given beside wall times (and ratios on both), and each table gives the",
        "load average seen during its runs. Despite the flags, XLA runs independent operations",
        "of one program concurrently, so worker processes are pinned to one CPU as well; a",
        "warm CPU time above the wall time marks a run made before the pinning (then the",
        "CPU-time ratio is the fairer one). First calls are cold (xglm's on-disk compilation",
        "cache off); the first call with that cache already filled is given separately.",
        "",
        "## Summary",
        "",
        "| problem | xglm warm | fastest peer at gap < 1e-6 | its warm | xglm / fastest (target ≤ 0.5) | "
        "xglm / fastest (CPU time) | xglm first − warm (target ≤ 1 s) | xglm first, disk cache filled | "
        "xglm peak extra RSS warm (× design, target ≤ 2) |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for title, res in done:
        s = summarise(res)
        x = res["results"].get("xglm", {})
        if not x.get("ok"):
            head.append(f"| {title} | failed | | | | | | | |")
            continue
        best, ratio = s.get("accurate", (None, None))
        bw = res["results"][best]["warm_median"] if best else None
        fmw = s.get("first_minus_warm")
        mem = x["mem_warm"] / x["design_bytes"] if x.get("mem_warm") is not None else None
        bc, rc = s.get("accurate_cpu", (None, None))
        head.append(
            f"| {title} | {fmt_t(x['warm_median'])} | {best or '–'} | {fmt_t(bw)} | "
            f"{'–' if ratio is None else f'{ratio:.2f}'} | "
            f"{'–' if rc is None else f'{rc:.2f} ({bc})'} | {fmt_t(fmw)} | "
            f"{fmt_t(x.get('first_disk_cache'))} | {'–' if mem is None else f'{mem:.2f}'} |"
        )
    head.append("")
    text = "\n".join(head) + "\n## Per problem\n\n" + "\n".join(sections)
    out = HERE / ("results_quick.md" if args.quick else "results.md")
    out.write_text(text)
    print(f"wrote {out} ({elapsed / 60:.1f} min)", file=sys.stderr)
    _ = TARGET_GAP
    return 0


if __name__ == "__main__":
    sys.exit(main())
