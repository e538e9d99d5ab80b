"""Where does a warm xglm fit spend its time? (for the solver owner)

For each benchmark problem this times, on warm calls (median of the repeats), the
pieces of ``GLM.fit``: the design translation (``prepare``), strength resolution
(``resolve_penalty``), the jitted core (``fit_arrays``, synchronised), the checks a fit
settles (``fit_checks``: boundary, rank screen) and the rest (argument checks, the
feature-major design, result translation); the statistics, computed on their first use
after the fit, are timed apart (first in the process, and warm); and, for scale, the
kernels an iteration is made of on the same
arrays: the passes ``X d`` and ``X^T r`` on the row-major and the feature-major design,
``X^T W X`` on all rows and on the solver's row subsample, and the host-to-JAX
conversions.

Run ``python benchmarks/profile_xglm.py [--quick] [--only NAME ...]``. One thread, as in
the benchmarks.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict

import _common  # noqa: F401  (one-thread environment first)
import bench_population
import bench_single
import bench_sparse
import numpy as np
from _common import make_problem


def _problems(quick):
    out = []
    for mod in (bench_single, bench_population, bench_sparse):
        for title, prob, _, _ in mod.problems(quick):
            out.append((title, prob))
    return out


def _timeit(fn, repeats=5):
    fn()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def profile(prob, repeats=5):
    import jax
    import jax.numpy as jnp

    import xglm
    from xglm import _model

    X, y, info = make_problem(prob)
    pen = prob.get("penalty")
    reg = {None: None, "ridge": "Ridge", "lasso": "Lasso"}.get(pen)
    if pen == "group":
        reg = xglm.GroupLasso(mask=info["groups"])
    cls = xglm.PopulationGLM if prob.get("k") else xglm.GLM
    kw = dict(
        family=prob["family"], regularizer=reg, regularizer_strength=info["alpha"] if pen else None
    )

    acc = defaultdict(list)
    originals = {}
    events = defaultdict(float)
    counts = defaultdict(int)

    def listener(event, duration, **kw):
        events[event] += duration
        counts[event] += 1

    jax.monitoring.register_event_duration_secs_listener(listener)

    def wrap_module(name, sync=False):
        if not hasattr(_model, name):
            return
        f = getattr(_model, name)
        originals[name] = f

        def w(*a, **k):
            t0 = time.perf_counter()
            out = f(*a, **k)
            if sync:
                jax.block_until_ready(out)
            acc[name].append(time.perf_counter() - t0)
            return out

        setattr(_model, name, w)

    for name in ("prepare", "resolve_penalty", "resolve_solver"):
        wrap_module(name)
    wrap_module("fit_arrays", sync=True)
    wrap_module("fit_checks")
    try:
        t0 = time.perf_counter()
        m = cls(**kw).fit(X, y)  # first call: compiles
        first = time.perf_counter() - t0
        first_pieces = {k: sum(v) for k, v in acc.items()}
        first_events = {k: (counts[k], events[k]) for k in events if "compile" in k or "trace" in k}
        t0 = time.perf_counter()
        m.deviance_, m.bse_  # noqa: B018 - the statistics, computed (and compiled) now
        first_pieces["statistics on first use (after the fit)"] = time.perf_counter() - t0
        acc.clear()
        totals = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            m = cls(**kw).fit(X, y)
            np.asarray(m.coef_)
            totals.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        m.deviance_, m.bse_  # noqa: B018
        stats_warm = time.perf_counter() - t0
    finally:
        for name, f in originals.items():
            setattr(_model, name, f)

    total = statistics.median(totals)
    pieces = {k: statistics.median(v) for k, v in acc.items()}
    pieces["rest (checks, conversions, outputs)"] = total - sum(pieces.values())
    n_iter = np.asarray(m.n_iter_)

    # ---- kernels on the same arrays ---------------------------------------------------
    kern = {}
    from xglm._device import feature_major

    kern["feature_major(X) (blocked transpose into JAX)"] = _timeit(
        lambda: jax.block_until_ready(feature_major(X, np.float64))
    )
    kern["jnp.asarray(X) (for scale)"] = _timeit(lambda: jax.block_until_ready(jnp.asarray(X)))
    Xj = jnp.asarray(X)
    Xt = feature_major(X, np.float64)
    p_ = X.shape[1]
    d = jnp.asarray(np.random.default_rng(0).standard_normal(p_))
    r = jnp.asarray(np.random.default_rng(1).standard_normal(X.shape[0]))
    # each jitted once, outside the timed calls
    mv_rows = jax.jit(lambda X, d: X @ d)
    mv_feat = jax.jit(lambda Xt, d: d @ Xt)
    rmv_rows = jax.jit(lambda X, r: r @ X)
    rmv_feat = jax.jit(lambda Xt, r: Xt @ r)
    kern["X @ d, row-major X"] = _timeit(lambda: mv_rows(Xj, d).block_until_ready())
    kern["X @ d, feature-major (d @ Xt)"] = _timeit(lambda: mv_feat(Xt, d).block_until_ready())
    kern["X^T r, row-major X (r @ X)"] = _timeit(lambda: rmv_rows(Xj, r).block_until_ready())
    kern["X^T r, feature-major (Xt @ r)"] = _timeit(lambda: rmv_feat(Xt, r).block_until_ready())
    wv = jnp.asarray(np.random.default_rng(0).uniform(0.5, 1.5, X.shape[0]))
    xtwx = jax.jit(lambda Xt, w: (Xt * w[None, :]) @ Xt.T)
    kern["X^T W X, all rows (one neuron)"] = _timeit(lambda: xtwx(Xt, wv).block_until_ready())
    from xglm._solvers._information import info_stride

    s_ = info_stride(*X.shape)
    Xs, ws = Xt[:, ::s_], wv[::s_]
    kern[f"X^T W X, every {s_}-th row (the solver's estimate)"] = _timeit(
        lambda: xtwx(Xs, ws).block_until_ready()
    )
    compile_info = {
        "first": first,
        "pieces": first_pieces,
        "events": first_events,
        "stats_warm": stats_warm,
    }
    return total, pieces, n_iter, getattr(m, "solver_", "?"), kern, compile_info


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--one", help="profile this problem in this process (used internally)")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    known = [prob["name"] for _, prob in _problems(args.quick)]
    unknown = sorted(set(args.only or []) - set(known))
    if unknown:
        ap.error(f"--only: unknown problem(s) {unknown}; expected names from {known}")
    if not args.one:  # one fresh process per problem, so first calls compile from scratch
        import os
        import subprocess

        os.environ["XGLM_NO_COMPILATION_CACHE"] = "1"

        sizes = "quick sizes" if args.quick else "full sizes"
        out = [
            f"# Where xglm's time goes (profile_xglm.py, {sizes})",
            "",
            "Default solver settings (tol 1e-8, so more iterations than the benchmark's loosest "
            "passing tolerance 1e-4), warm medians of 5 calls, one fresh process per problem, "
            f"first calls with the on-disk compilation cache off; {_common.revision()}, one "
            'thread, pinned to one CPU. The design is row-major here, so "rest" includes its '
            "feature-major transpose (see the kernel table; on refits it writes into the reused "
            "buffer of the previous fit).",
            "",
        ]
        for title, prob in _problems(args.quick):
            if args.only and prob["name"] not in args.only:
                continue
            print(f"== {title}", file=sys.stderr, flush=True)
            cmd = [sys.executable, __file__, "--one", prob["name"], "--repeats", str(args.repeats)]
            cmd += ["--quick"] if args.quick else []
            proc = subprocess.run(cmd, capture_output=True, text=True)
            print(proc.stdout, flush=True)
            if proc.returncode:
                print(proc.stderr[-3000:], file=sys.stderr)
            out.append(proc.stdout)
        text = "\n".join(out)
        (_common.HERE / ("profile_quick.md" if args.quick else "profile.md")).write_text(text)
        return text
    _common.pin_one_cpu()
    lines = []
    for title, prob in _problems(args.quick):
        if prob["name"] != args.one:
            continue
        total, pieces, n_iter, solver, kern, comp = profile(prob, args.repeats)
        it = np.atleast_1d(n_iter)
        its = (
            f"{int(it[0])}"
            if it.size == 1
            else f"{int(it.min())}–{int(it.max())} (sum {int(it.sum())})"
        )
        lines.append(
            f"### {title} (n={prob['n']:,}, p={prob['p']}{', k=' + str(prob['k']) if prob.get('k') else ''})"
        )
        lines.append("")
        lines.append(f"warm fit {total * 1e3:.1f} ms, solver `{solver}`, iterations {its}")
        lines.append("")
        lines.append(
            "statistics on first use after a warm fit (deviance, standard errors): "
            f"{comp['stats_warm'] * 1e3:.1f} ms more"
        )
        lines.append("")
        lines.append("| piece of `fit` | ms | share |")
        lines.append("|---|---:|---:|")
        for k, v in pieces.items():
            lines.append(f"| {k} | {v * 1e3:.1f} | {100 * v / total:.0f}% |")
        lines.append("")
        lines.append("| kernel on the same arrays | ms |")
        lines.append("|---|---:|")
        for k, v in kern.items():
            lines.append(f"| {k} | {v * 1e3:.2f} |")
        lines.append("")
        lines.append(
            f"first call {comp['first']:.2f} s (fresh process); inside it, and the first "
            "statistics after it:"
        )
        lines.append("")
        lines.append("| piece of the first `fit` | s |")
        lines.append("|---|---:|")
        for k, v in comp["pieces"].items():
            lines.append(f"| {k} | {v:.3f} |")
        lines.append("")
        lines.append("| JAX compile event (first call) | count | total s |")
        lines.append("|---|---:|---:|")
        for k, (c, v) in sorted(comp["events"].items(), key=lambda kv: -kv[1][1]):
            lines.append(f"| `{k}` | {c} | {v:.3f} |")
        lines.append("")
    print("\n".join(lines), flush=True)
    return "\n".join(lines)


if __name__ == "__main__":
    main()
