"""Formula path end to end: build the design of a 1,000,000-row formula and fit it.

    python benchmarks/bench_formula.py [--quick] [--repeats 3]

The formula has a cubic B-spline, a 10-level categorical and a categorical-by-numeric
interaction (27 columns), Poisson family, no penalty:

    spikes ~ bs(position, df=8) + C(trial) + speed + C(trial):speed

xglm (``xglm.glm(formula, data=df)``: formulaic design + JAX fit + R-style statistics)
against glum's formula path (``GeneralizedLinearRegressor(formula=...)``: formulaic via
tabmat + its IRLS). Each package runs in a fresh subprocess with one thread; the first
call (xglm compiles in it) and the warm calls (median of the repeats) are timed, the
design build alone is timed too, and the two solutions are compared on xglm's objective
(mean Poisson half-deviance) so the times are at equal accuracy. Nothing here is a test.
"""

from __future__ import annotations

import os

for _k, _v in {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false",
}.items():
    os.environ[_k] = _v

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

FORMULA = "spikes ~ bs(position, df=8) + C(trial) + speed + C(trial):speed"


def make_data(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    position = rng.uniform(0, 1, n)
    speed = rng.normal(size=n)
    trial = rng.integers(0, 10, n)
    eta = 0.2 + np.sin(3 * position) + 0.1 * speed * (trial % 3 - 1) + 0.05 * trial / 10
    return pd.DataFrame(
        {
            "position": position,
            "speed": speed,
            "trial": pd.Categorical([f"t{i}" for i in trial]),
            "spikes": rng.poisson(np.exp(eta)).astype(float),
        }
    )


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def _coef_by_name(names, coef):
    # glum names levels 'C(trial)[t1]', formulaic 'C(trial)[T.t1]'
    import re

    out = {}
    for name, c in zip(names, coef, strict=True):
        name = re.sub(r"C\(trial\)\[(?!T\.)(\w+)\]", r"C(trial)[T.\1]", name)
        key = ":".join(sorted(name.split(":")))
        out[key] = float(c)
    return out


def worker(package: str, n: int, repeats: int) -> dict:
    df = make_data(n)
    res = {"package": package, "n": n}
    if package == "xglm":
        import xglm
        from xglm._design import prepare

        _, res["design_first_s"] = _timed(lambda: prepare(df, None, formula=FORMULA))
        designs = [_timed(lambda: prepare(df, None, formula=FORMULA))[1] for _ in range(repeats)]
        res["design_s"] = statistics.median(designs)
        model, res["first_s"] = _timed(lambda: xglm.glm(FORMULA, data=df))
        warm = [_timed(lambda: xglm.glm(FORMULA, data=df))[1] for _ in range(repeats)]
        res["warm_s"] = statistics.median(warm)
        names = list(model.coef_.feature.values)
        res["coef"] = _coef_by_name(names, model.coef_.values)
        res["intercept"] = float(model.intercept_[0])
        res["n_iter"] = int(model.n_iter_)
    else:
        import glum
        import tabmat

        rhs = FORMULA.split("~", 1)[1]

        def design():
            return tabmat.from_formula(rhs, df, ensure_full_rank=True)

        _, res["design_first_s"] = _timed(design)
        res["design_s"] = statistics.median(_timed(design)[1] for _ in range(repeats))

        def fit():
            return glum.GeneralizedLinearRegressor(
                formula=FORMULA, family="poisson", alpha=0, drop_first=True, gradient_tol=1e-8
            ).fit(df)

        model, res["first_s"] = _timed(fit)
        res["warm_s"] = statistics.median(_timed(fit)[1] for _ in range(repeats))
        res["coef"] = _coef_by_name(model.feature_names_, model.coef_)
        res["intercept"] = float(model.intercept_)
        res["n_iter"] = int(model.n_iter_)
    return res


def objective(df: pd.DataFrame, res: dict, names: list[str], X: np.ndarray) -> float:
    """Mean Poisson half-deviance of a solution on xglm's design."""
    beta = np.array([res["coef"][k] for k in names])
    mu = np.exp(X @ beta + res["intercept"])
    y = df.spikes.to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(y > 0, y * np.log(y / mu), 0.0)
    return float(np.mean(term - (y - mu)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 rows instead of 1,000,000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--worker", choices=["xglm", "glum"])
    parser.add_argument("--out")
    parser.add_argument("-n", type=int, default=None)
    args = parser.parse_args()
    n = args.n or (100_000 if args.quick else 1_000_000)
    if args.worker:
        res = worker(args.worker, n, args.repeats)
        with open(args.out, "w") as fh:
            json.dump(res, fh)
        return

    results = {}
    for package in ("xglm", "glum"):
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
            out = fh.name
        cmd = [sys.executable, __file__, "--worker", package, "--out", out, "-n", str(n)]
        cmd += ["--repeats", str(args.repeats)]
        subprocess.run(cmd, check=True)
        with open(out) as fh:
            results[package] = json.load(fh)
        os.unlink(out)

    import xglm  # noqa: F401  (float64)
    from xglm._design import prepare

    df = make_data(n)
    design, _ = prepare(df, None, formula=FORMULA)
    names = [":".join(sorted(f.split(":"))) for f in design.layout.feature_labels]
    obj = {p: objective(df, r, names, design.X) for p, r in results.items()}
    best = min(obj.values())
    x, g = results["xglm"], results["glum"]
    print(f"\nformula: {FORMULA}\nrows: {n:,}, columns: {design.X.shape[1]}, one thread\n")
    print(
        "| package | design build (s) | fit incl. design, first call (s) | warm (s) | iterations | relative objective gap |"
    )
    print("|---|---|---|---|---|---|")
    for p, r in results.items():
        gap = (obj[p] - best) / abs(best)
        print(
            f"| {p} | {r['design_s']:.2f} | {r['first_s']:.2f} | {r['warm_s']:.2f} | "
            f"{r['n_iter']} | {gap:.1e} |"
        )
    diff = max(abs(x["coef"][k] - g["coef"][k]) for k in names)
    print(f"\nmax |coef difference| xglm vs glum: {diff:.2e}")
    print(f"design build ratio xglm/glum: {x['design_s'] / g['design_s']:.2f}")
    print(f"warm fit (design included) ratio xglm/glum: {x['warm_s'] / g['warm_s']:.2f}")
    print(f"first call ratio xglm/glum: {x['first_s'] / g['first_s']:.2f}")


if __name__ == "__main__":
    main()
