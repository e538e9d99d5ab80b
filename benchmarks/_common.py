"""Shared pieces of the benchmark suite.

* the thread setting (one thread for every package, set before numpy/jax are imported),
* seeded data generators,
* xglm's objective evaluated in float64 numpy for any package's solution,
* the measurement protocol: every (problem, package) pair runs in a fresh subprocess
  (``python _common.py <spec.json>``) that times the first call (compilation included),
  then the warm calls (median of the repeats after the first call, which serves as the
  warm-up), records the peak memory, and writes the solution back,
* the driver that runs the packages of one problem, computes the reference optimum and
  the relative objective gaps, and formats a markdown table.

The objective (one definition for all packages)::

    f(beta, b) = (1 / sum w) sum_i w_i * 1/2 d(y_i, mu_i) + P(beta),   mu = g^-1(X beta + b)

with ``d`` the unit deviance, the intercept unpenalized, and
Ridge ``1/2 sum alpha beta^2``, Lasso ``sum alpha |beta|``, GroupLasso
``sum_g alpha sqrt(p_g) ||beta_g||``. Population fits sum it over neurons.
"""

from __future__ import annotations

import os

# --- one thread everywhere: must happen before numpy / jax are imported ------------
THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false",
}
for _k, _v in THREAD_ENV.items():
    os.environ[_k] = _v

import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
TARGET_GAP = 1e-6
# a single call slower than this gets fewer warm repeats (at least one)
SLOW_CALL_S = 20.0
# do not try tighter settings once a single call takes longer than this
LADDER_BUDGET_S = 60.0


def thread_setting() -> str:
    return " ".join(f"{k}={v!r}" if " " in v else f"{k}={v}" for k, v in THREAD_ENV.items())


# ---------------------------------------------------------------------------- data
def make_problem(spec: dict):
    """Seeded data for a problem spec; returns ``(X, y, info)``.

    ``info`` holds the penalty strength ``alpha`` (in xglm's convention), the group ids
    (GroupLasso) and the true coefficients. Identical in every process.
    """
    n, p, k = spec["n"], spec["p"], spec.get("k")
    family, penalty = spec["family"], spec.get("penalty")
    rng = np.random.default_rng(spec.get("seed", 0))
    X = rng.standard_normal((n, p))
    ncols = 1 if k is None else k
    if penalty in ("lasso", "group"):
        beta = np.zeros((p, ncols))
        if penalty == "lasso":
            nz = rng.choice(p, size=spec.get("nonzero", max(1, p // 10)), replace=False)
            beta[nz] = rng.normal(0.0, 0.6, size=(len(nz), ncols)) / np.sqrt(len(nz))
        else:
            gsize = spec["group_size"]
            ng = p // gsize
            active = rng.choice(ng, size=spec.get("active_groups", max(1, ng // 5)), replace=False)
            for g in active:
                beta[g * gsize : (g + 1) * gsize] = rng.normal(
                    0.0, 0.6, size=(gsize, ncols)
                ) / np.sqrt(len(active) * gsize)
    else:
        beta = rng.normal(0.0, 0.5, size=(p, ncols)) / np.sqrt(p)
    if family == "poisson":
        b = (
            np.log(0.8) + rng.normal(0.0, 0.3, size=ncols)
            if k is not None
            else np.array([np.log(0.8)])
        )
        y = rng.poisson(np.exp(X @ beta + b)).astype(float)
    elif family == "gaussian":
        b = np.full(ncols, 0.5)
        y = X @ beta + b + rng.standard_normal((n, ncols))
    else:
        raise ValueError(family)
    if k is None:
        y = y[:, 0]
        beta = beta[:, 0]
    info = {"beta_true": beta, "b_true": b}
    groups = None
    if penalty == "group":
        groups = np.arange(p) // spec["group_size"]
        info["groups"] = groups
    alpha = spec.get("alpha")
    if penalty is None:
        alpha = 0.0
    elif alpha is None:  # a fraction of the strength that zeroes every coefficient
        alpha = spec["alpha_frac"] * alpha_max(X, y, family, penalty, groups)
    info["alpha"] = float(alpha)
    return X, y, info


def alpha_max(X, y, family, penalty, groups=None) -> float:
    """Smallest strength at which all coefficients are zero (null model at the intercept)."""
    n = X.shape[0]
    ybar = y.mean(axis=0)
    g = X.T @ (y - ybar) / n  # same for Poisson (log link) and Gaussian
    if penalty == "group":
        vals = []
        for gid in np.unique(groups):
            sel = groups == gid
            vals.append(np.linalg.norm(g[sel], axis=0) / np.sqrt(sel.sum()))
        return float(np.max(vals))
    return float(np.max(np.abs(g)))


# ----------------------------------------------------------------------- objective
def half_unit_deviance(y, mu, family):
    if family == "poisson":
        with np.errstate(divide="ignore", invalid="ignore"):
            ylogy = np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0) / mu), 0.0)
        return ylogy - (y - mu)
    if family == "gaussian":
        return 0.5 * (y - mu) ** 2
    raise ValueError(family)


def objective(X, y, coef, intercept, family, penalty, alpha, groups=None):
    """xglm's objective in float64 numpy. Population (``coef`` (p, k)): summed over neurons."""
    coef = np.asarray(coef, np.float64)
    intercept = np.asarray(intercept, np.float64).reshape(-1)
    if coef.ndim == 1:
        coef2, b = coef[:, None], intercept[:1]
        y2 = y[:, None]
    else:
        coef2, b = coef, intercept
        y2 = y
    eta = X @ coef2 + b
    mu = np.exp(eta) if family == "poisson" else eta
    loss = np.mean(half_unit_deviance(y2, mu, family), axis=0)
    if penalty is None:
        pen = 0.0
    elif penalty == "ridge":
        pen = 0.5 * alpha * np.sum(coef2**2, axis=0)
    elif penalty == "lasso":
        pen = alpha * np.sum(np.abs(coef2), axis=0)
    elif penalty == "group":
        pen = 0.0
        for gid in np.unique(groups):
            sel = groups == gid
            pen = pen + alpha * np.sqrt(sel.sum()) * np.linalg.norm(coef2[sel], axis=0)
    else:
        raise ValueError(penalty)
    return float(np.sum(loss + pen))


def rel_gap(f, fref) -> float:
    return (f - fref) / max(abs(fref), 1e-300)


def newton_reference(X, y, family, alpha, tol=1e-14, maxiter=100):
    """Independent float64 numpy Newton solve of the smooth problem (Ridge or none).

    Works on one response or a population (columns solved one after another).
    """
    if y.ndim == 2:
        out = [newton_reference(X, y[:, j], family, alpha, tol, maxiter) for j in range(y.shape[1])]
        return np.stack([o[0] for o in out], axis=1), np.array([o[1] for o in out])
    n, p = X.shape
    Xc = np.hstack([np.ones((n, 1)), X])
    lam = np.full(p + 1, alpha or 0.0)
    lam[0] = 0.0
    t = np.zeros(p + 1)
    t[0] = np.log(y.mean()) if family == "poisson" else y.mean()

    def f(t):
        return objective(X, y, t[1:], t[:1], family, "ridge" if alpha else None, alpha or 0.0)

    fv = f(t)
    for _ in range(maxiter):
        eta = Xc @ t
        mu = np.exp(eta) if family == "poisson" else eta
        wk = mu if family == "poisson" else np.ones(n)
        g = Xc.T @ (mu - y) / n + lam * t
        H = (Xc * wk[:, None]).T @ Xc / n + np.diag(lam)
        d = np.linalg.solve(H, g)
        step = 1.0
        while True:
            tn = t - step * d
            fn = f(tn)
            if fn <= fv or step < 1e-10:
                break
            step *= 0.5
        done = np.max(np.abs(tn - t)) <= tol * (1 + np.max(np.abs(tn)))
        t, fv = tn, min(fn, fv)
        if done:
            break
    return t[1:], t[0]


# ------------------------------------------------------------------------- memory
def _status(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return -1


def reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def rss() -> int:
    return _status("VmRSS")


def peak_rss() -> int:
    return _status("VmHWM")


# ------------------------------------------------------------------------- timing
CPU_TIMES: list[float] = []  # process CPU time of the calls timed by ``timed``


def timed(fn):
    """Wall time of ``fn()`` (returned) and its process CPU time (appended to CPU_TIMES)."""
    c0 = time.process_time()
    t0 = time.perf_counter()
    out = fn()
    t = time.perf_counter() - t0
    CPU_TIMES.append(time.process_time() - c0)
    return t, out


def pin_one_cpu() -> None:
    """Pin this process to one CPU: XLA runs independent operations of a program
    concurrently even with the one-thread flags."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[-1]})


def run_worker(spec_path: str) -> None:
    """Fresh-process measurement of one (problem, package) pair; see the module docstring."""
    job = json.loads(Path(spec_path).read_text())
    if job.get("pin", True):
        pin_one_cpu()
    sys.path.insert(0, str(HERE))
    import _peers  # noqa: PLC0415

    spec, pkg = job["problem"], job["package"]
    result = {"package": pkg, "ok": False}
    try:
        X, y, info = make_problem(spec)
        adapter = _peers.ADAPTERS[pkg]
        ladder = adapter.ladder(spec) if job.get("settings") is None else job["settings"]
        start = job.get("start", 0)
        fref = job.get("fref")
        fam, pen, alpha = spec["family"], spec.get("penalty"), info["alpha"]
        groups = info.get("groups")

        def gap_of(sol):
            f = objective(X, y, sol[0], sol[1], fam, pen, alpha, groups)
            return f, (rel_gap(f, fref) if fref is not None else None)

        # --- first call, fresh process (compilation included) -----------------------
        i = start
        runner = adapter.make(spec, X, y, info, ladder[i])
        load0 = os.getloadavg()[0]
        rss0 = rss()
        reset_peak()
        t_first, sol = timed(runner)
        cpu_first = CPU_TIMES[-1]
        mem_first = peak_rss() - rss0
        f, gap = gap_of(sol)
        first_ok = True
        trials = [{"setting": ladder[i], "time": t_first, "gap": gap}]
        # --- tighten the setting until the gap target is met (untimed trials) -------
        last_t = t_first
        while (
            job.get("tune", True)
            and gap is not None
            and gap >= TARGET_GAP
            and i + 1 < len(ladder)
            and last_t < LADDER_BUDGET_S
        ):
            i += 1
            runner = adapter.make(spec, X, y, info, ladder[i])
            last_t, sol = timed(runner)
            f, gap = gap_of(sol)
            trials.append({"setting": ladder[i], "time": last_t, "gap": gap})
            first_ok = False
        # --- warm calls --------------------------------------------------------------
        warm, warm_cpu = [], []
        mem_warm = None
        extra = {}
        if not job.get("first_only"):
            repeats = job.get("repeats", 3)
            if last_t > SLOW_CALL_S:
                repeats = 1
            if not first_ok:  # this setting's warm-up call
                runner()
            hook = getattr(adapter, "before_warm", None)
            if hook:
                hook(extra)
            rss1 = rss()
            reset_peak()
            for _ in range(repeats):
                t, sol = timed(runner)
                warm.append(t)
                warm_cpu.append(CPU_TIMES[-1])
            mem_warm = peak_rss() - rss1
            hook = getattr(adapter, "after_warm", None)
            if hook:
                hook(extra)
            f, gap = gap_of(sol)
        path = job["out"]
        np.savez(path, coef=np.asarray(sol[0], float), intercept=np.asarray(sol[1], float))
        result.update(
            ok=True,
            index=i,
            setting=ladder[i],
            first=t_first if first_ok else None,
            first_cpu=cpu_first if first_ok else None,
            warm_cpu=warm_cpu,
            warm_cpu_median=statistics.median(warm_cpu) if warm_cpu else None,
            loadavg=(load0, os.getloadavg()[0]),
            first_index=start,
            warm=warm,
            warm_median=statistics.median(warm) if warm else None,
            objective=f,
            gap_at_run=gap,
            trials=trials,
            mem_first=mem_first,
            mem_warm=mem_warm,
            design_bytes=int(X.nbytes),
            extra={**extra, **getattr(adapter, "report", lambda: {})()},
        )
    except Exception as exc:  # report, never crash the suite
        result["error"] = f"{type(exc).__name__}: {exc}"
        result["traceback"] = traceback.format_exc()[-3000:]
    print("RESULT " + json.dumps(result, default=_json_default), flush=True)


def _json_default(o):
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def spawn(problem: dict, package: str, timeout: float = 900, env_extra=None, **job) -> dict:
    """Run one measurement in a fresh subprocess with the one-thread environment."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "sol.npz")
        spec_path = os.path.join(tmp, "job.json")
        Path(spec_path).write_text(
            json.dumps(
                {"problem": problem, "package": package, "out": out, **job}, default=_json_default
            )
        )
        # xglm keeps compiled code in an on-disk cache; first calls are measured cold
        env = dict(os.environ, **THREAD_ENV, XGLM_NO_COMPILATION_CACHE="1")
        env.pop("JAX_ENABLE_X64", None)
        env.pop("JAX_COMPILATION_CACHE_DIR", None)
        env.update(problem.get("env") or {})
        env.update(env_extra or {})
        try:
            proc = subprocess.run(
                [sys.executable, str(HERE / "_common.py"), spec_path],
                capture_output=True,
                text=True,
                env=env,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            return {"package": package, "ok": False, "error": f"timeout after {timeout:.0f} s"}
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
        if not lines:
            return {
                "package": package,
                "ok": False,
                "error": f"worker exited with {proc.returncode}: {proc.stderr[-2000:]}",
            }
        res = json.loads(lines[-1][len("RESULT ") :])
        if res.get("ok"):
            with np.load(out) as z:
                res["coef"] = z["coef"]
                res["intercept"] = z["intercept"]
        return res


def spawn_retry(problem: dict, package: str, **job) -> dict:
    """``spawn`` with a shorter time limit for xglm and retries after a timeout.

    ``problem["xglm_timeout"]`` (seconds) and ``problem["retries"]`` enable this; it exists
    because xglm.PopulationGLM intermittently deadlocks inside XLA (see
    bench_population.py). The number of attempts is recorded.
    """
    timeout = problem.get("xglm_timeout", 900) if is_xglm(package) else 900
    retries = problem.get("retries", 0) if is_xglm(package) else 0
    for attempt in range(1 + retries):  # noqa: B007 (counted after the loop)
        r = spawn(problem, package, timeout=timeout, **job)
        if r.get("ok") or "timeout" not in str(r.get("error", "")):
            break
    r["attempts"] = attempt + 1
    return r


# ------------------------------------------------------------------------- driver
def run_problem(
    problem: dict, packages: list[str], *, repeats=3, verbose=True, reference=(), rounds=2
):
    """Measure every package on one problem and return a results dict.

    ``reference``: extra packages whose tight solves only enter the reference optimum.
    The reference objective is the best objective over every solution (the tight
    reference solves and all measured packages). With ``rounds=2`` every package's warm
    calls are timed again, in a fresh process and in the reverse order of the packages,
    at the setting the first round chose, and the lower of the two medians is kept: a
    slowdown of the shared machine during one package's turn then does not decide a
    ratio.
    """
    X, y, info = make_problem(problem)
    fam, pen, alpha = problem["family"], problem.get("penalty"), info["alpha"]
    groups = info.get("groups")

    def fobj(coef, icpt):
        return objective(X, y, coef, icpt, fam, pen, alpha, groups)

    log = (lambda *a: print(*a, file=sys.stderr, flush=True)) if verbose else (lambda *a: None)
    refs = {}
    t0 = time.perf_counter()
    if pen in (None, "ridge"):
        coef, icpt = newton_reference(X, y, fam, alpha if pen == "ridge" else 0.0)
        refs["numpy-newton"] = fobj(coef, icpt)
        log(
            f"  reference numpy-newton: {refs['numpy-newton']:.15g} ({time.perf_counter() - t0:.1f} s)"
        )
    for pkg in reference:
        r = spawn_retry(problem, pkg, tune=False, first_only=True)
        if r.get("ok"):
            refs[pkg] = fobj(r["coef"], r["intercept"])
            log(f"  reference {pkg}: {refs[pkg]:.15g} ({r['first']:.2f} s)")
        else:
            log(f"  reference {pkg} failed: {r.get('error')}")
    fref = min(refs.values()) if refs else None

    results = {}
    for pkg in packages:
        log(f"  {pkg} ...")
        r = spawn_retry(problem, pkg, fref=fref, repeats=repeats)
        if r.get("ok") and r["first"] is None:
            # the chosen setting was not the first tried: time its first call afresh
            r2 = spawn_retry(problem, pkg, start=r["index"], tune=False, first_only=True)
            r["first"] = r2.get("first") if r2.get("ok") else None
            r["first_cpu"] = r2.get("first_cpu") if r2.get("ok") else None
            r["mem_first"] = r2.get("mem_first") if r2.get("ok") else None
        if r.get("ok") and pkg == "xglm":
            # first call in a new process whose on-disk compilation cache is already filled
            # by an earlier process (xglm's persistent cache), same shapes and setting
            with tempfile.TemporaryDirectory() as cache:
                env_extra = {"XGLM_NO_COMPILATION_CACHE": "", "XGLM_CACHE_DIR": cache}
                kw = dict(start=r["index"], tune=False, first_only=True, env_extra=env_extra)
                spawn_retry(problem, pkg, **kw)
                r3 = spawn_retry(problem, pkg, **kw)
                r["first_disk_cache"] = r3.get("first") if r3.get("ok") else None
        if r.get("ok"):
            r["objective"] = fobj(r["coef"], r["intercept"])
            log(
                f"    warm {r['warm_median']:.4g} s  first {r['first'] if r['first'] is None else round(r['first'], 4)} s"
                f"  setting {r['setting']}  f={r['objective']:.15g}"
            )
        else:
            log(f"    FAILED: {r.get('error')}\n{r.get('traceback', '')}")
        results[pkg] = r
    for pkg in reversed(packages) if rounds > 1 else ():
        r = results[pkg]
        if not r.get("ok") or r.get("warm_median") is None:
            continue
        r2 = spawn_retry(problem, pkg, start=r["index"], tune=False, repeats=repeats)
        if not (r2.get("ok") and r2.get("warm_median")):
            continue
        r["warm_rounds"] = [r["warm_median"], r2["warm_median"]]
        if r2["warm_median"] < r["warm_median"]:
            r["warm"], r["warm_median"] = r2["warm"], r2["warm_median"]
            r["warm_cpu"], r["warm_cpu_median"] = r2["warm_cpu"], r2["warm_cpu_median"]
        log(f"  {pkg} second round: warm {r2['warm_median']:.4g} s, kept {r['warm_median']:.4g} s")
    fbest = min(
        [v for v in refs.values()] + [r["objective"] for r in results.values() if r.get("ok")]
    )
    for r in results.values():
        r.pop("traceback", None)  # keeps machine paths out of the saved results
        if r.get("ok"):
            r["gap"] = rel_gap(r["objective"], fbest)
            r.pop("coef", None)
            r.pop("intercept", None)
    return {
        "problem": problem,
        "alpha": alpha,
        "design_bytes": int(X.nbytes),
        "references": refs,
        "fbest": fbest,
        "results": results,
    }


def is_xglm(pkg: str) -> bool:
    return pkg.split("-")[0] == "xglm"


def summarise(res: dict, main: str = "xglm") -> dict:
    """Ratios of ``main`` against the fastest peer (all peers, and those at the gap target),
    on wall time and on process CPU time."""
    rs = res["results"]
    peers = {k: v for k, v in rs.items() if not is_xglm(k) and v.get("ok") and v.get("warm_median")}
    acc = {k: v for k, v in peers.items() if v["gap"] < TARGET_GAP}
    out = {"main": main}
    m = rs.get(main)
    if m and m.get("ok"):
        for tag, pool in (("accurate", acc), ("any", peers)):
            if pool:
                best = min(pool, key=lambda k: pool[k]["warm_median"])
                out[tag] = (best, m["warm_median"] / pool[best]["warm_median"])
                bc = min(pool, key=lambda k: pool[k]["warm_cpu_median"])
                out[tag + "_cpu"] = (bc, m["warm_cpu_median"] / pool[bc]["warm_cpu_median"])
        out["first_minus_warm"] = (
            (m["first"] - m["warm_median"]) if m.get("first") is not None else None
        )
    return out


def fmt_t(t):
    if t is None:
        return "–"
    if abs(t) < 1e-2:
        return f"{t * 1e3:.2f} ms"
    if abs(t) < 1:
        return f"{t * 1e3:.0f} ms"
    return f"{t:.2f} s"


def markdown_table(res: dict, title: str) -> str:
    p = res["problem"]
    summ = summarise(res)
    lines = [f"### {title}", ""]
    shape = f"n={p['n']:,}, p={p['p']}" + (f", {p['k']} neurons" if p.get("k") else "")
    pen = p.get("penalty") or "none"
    loads = [r["loadavg"][0] for r in res["results"].values() if r.get("ok") and r.get("loadavg")]
    lines.append(
        f"{p['family']} / {pen}, {shape}, alpha={res['alpha']:.4g} (xglm's convention); "
        f"design {res['design_bytes'] / 2**20:.0f} MiB; reference objective {res['fbest']:.12g}"
        + (
            f"; machine load average during the runs {min(loads):.1f}–{max(loads):.1f}."
            if loads
            else "."
        )
    )
    if p.get("note"):
        lines.append(p["note"])
    lines.append("")
    lines.append(
        "| package | setting | warm wall | warm CPU | first call | first − warm | rel. objective gap | "
        "peak extra RSS first / warm (× design) | xglm / this (wall) | xglm / this (CPU) |"
    )
    lines.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    main = res["results"].get("xglm", {})
    for pkg, r in res["results"].items():
        if not r.get("ok"):
            err = r.get("error", "").replace("|", "/").replace("\n", " ")[:90]
            att = f" ({r['attempts']} attempts)" if r.get("attempts", 1) > 1 else ""
            lines.append(f"| {pkg} | – | failed{att} | – | – | – | – | – | – | {err} |")
            continue
        db = r["design_bytes"]
        mf, mw = r.get("mem_first"), r.get("mem_warm")
        mem = f"{mf / db:.2f} / {mw / db:.2f}" if mf is not None and mw is not None else "–"
        ratio = ratio_cpu = ""
        if main.get("ok") and r.get("warm_median") and pkg != "xglm":
            ratio = f"{main['warm_median'] / r['warm_median']:.2f}"
            ratio_cpu = f"{main['warm_cpu_median'] / r['warm_cpu_median']:.2f}"
        fmw = fmt_t(r["first"] - r["warm_median"]) if r.get("first") is not None else "–"
        gap = f"{r['gap']:.1e}" + ("" if r["gap"] < TARGET_GAP else " ✗")
        setting = json.dumps(r["setting"]).replace("|", "/")
        if r.get("attempts", 1) > 1:
            setting += f" (attempt {r['attempts']})"
        lines.append(
            f"| {pkg} | `{setting}` | {fmt_t(r['warm_median'])} | {fmt_t(r.get('warm_cpu_median'))} | "
            f"{fmt_t(r.get('first'))} | {fmw} | {gap} | {mem} | {ratio} | {ratio_cpu} |"
        )
    lines.append("")
    if "accurate" in summ:
        best, ratio = summ["accurate"]
        bc, rc = summ["accurate_cpu"]
        lines.append(
            f"**xglm / fastest peer at gap < 1e-6: {ratio:.2f} wall ({best}), {rc:.2f} CPU ({bc})** "
            "(target ≤ 0.5)."
        )
    if "any" in summ and summ["any"][0] != summ.get("accurate", (None,))[0]:
        best, ratio = summ["any"]
        lines.append(f"xglm / fastest peer at any accuracy ({best}): {ratio:.2f} wall.")
    if summ.get("first_minus_warm") is not None:
        lines.append(
            f"xglm first call − warm call: {fmt_t(summ['first_minus_warm'])} (target ≤ 1 s)."
        )
    fdc = res["results"].get("xglm", {}).get("first_disk_cache")
    if fdc is not None:
        lines.append(
            f"xglm first call in a new process with its on-disk compilation cache already filled: "
            f"{fmt_t(fdc)} (the table's first calls are cold: `XGLM_NO_COMPILATION_CACHE=1`)."
        )
    x = res["results"].get("xglm", {})
    if x.get("ok") and x.get("extra"):
        e = x["extra"]
        if "trace_delta" in e:
            lines.append(
                f"xglm warm fits: traces {e['trace_delta']}, XLA compilations {e.get('compiles', '?')} "
                "(a second fit of the same shapes must compile nothing); "
                f"solver {e.get('solver')}, iterations {_iters(e.get('n_iter'))}."
            )
        if "statistics_s" in e:
            lines.append(
                "xglm's reported statistics (deviance, AIC, standard errors), computed on "
                f"first use outside the timed fit: {fmt_t(e['statistics_s'])} more, warm; "
                f"{fmt_t(e.get('statistics_first_s', float('nan')))} the first time in a "
                "process (compiling). The peers compute none of them."
            )
    lines.append("")
    return "\n".join(lines)


def _iters(n_iter):
    a = np.atleast_1d(np.asarray(n_iter if n_iter is not None else [], float))
    if a.size == 0:
        return "?"
    if a.size == 1:
        return f"{int(a[0])}"
    return f"{int(a.min())}–{int(a.max())} (mean {a.mean():.1f})"


def save_json(res: dict, path: Path) -> None:
    path.write_text(json.dumps(res, indent=1, default=_json_default))


def revision() -> str:
    """The commit the package was measured at (and whether src/ had uncommitted changes)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"],
            cwd=HERE.parent,
            capture_output=True,
            text=True,
        ).stdout.strip()
        return f"commit {head}" + (" with uncommitted changes in src/" if dirty else "")
    except OSError:
        return "an unknown revision"


def bench_main(name: str, problems, argv=None) -> list[tuple[str, dict]]:
    """Command line of one bench script: run its problems, save JSON, print markdown.

    ``problems(quick)`` returns a list of ``(title, problem, packages, reference)``.
    """
    import argparse  # noqa: PLC0415

    ap = argparse.ArgumentParser(description=f"xglm benchmark: {name}")
    ap.add_argument("--quick", action="store_true", help="smaller sizes, for a fast check")
    ap.add_argument("--repeats", type=int, default=3, help="warm repeats (median reported)")
    ap.add_argument("--only", nargs="*", help="run only these packages")
    ap.add_argument("--problems", nargs="*", help="run only the problems of these names")
    ap.add_argument("--out", default=None, help="directory for the JSON results")
    ap.add_argument(
        "--rounds", type=int, default=2, help="timing rounds, the second in reverse order"
    )
    args = ap.parse_args(argv)
    outdir = Path(args.out) if args.out else HERE / ("results_quick" if args.quick else "results")
    outdir.mkdir(parents=True, exist_ok=True)
    done = []
    for title, problem, packages, reference in problems(args.quick):
        if args.problems and problem["name"] not in args.problems:
            continue
        if args.only:
            packages = [p for p in packages if p in args.only]
        print(f"== {title}", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        res = run_problem(
            problem, packages, repeats=args.repeats, reference=reference, rounds=args.rounds
        )
        res["title"] = title
        res["elapsed"] = time.perf_counter() - t0
        res["revision"] = revision()
        save_json(res, outdir / f"{problem['name']}.json")
        print(markdown_table(res, title), flush=True)
        done.append((title, res))
    return done


if __name__ == "__main__":
    run_worker(sys.argv[1])
