"""Sparse penalties: Lasso (n=100,000, p=200; Poisson and Gaussian), wide Lasso
(n=20,000, p=1,200, Poisson; a sparse solution and one with about 250 nonzero
coefficients), GroupLasso (20 groups of 10; Poisson and Gaussian) and wide GroupLasso
(n=20,000, 100 groups of 8, Gaussian).

Packages: xglm, glum (Lasso only: it has no group penalty), skglm (ProxNewton /
GroupProxNewton for Poisson, Lasso / GroupLasso estimators for Gaussian), NeMoS
(ProximalGradient, float32), and scikit-learn's coordinate-descent Lasso for
the Gaussian Lasso. The strength is a fraction of the smallest strength that zeroes
every coefficient. Run ``python benchmarks/bench_sparse.py [--quick]``.
"""

from __future__ import annotations

import _common  # noqa: F401  (sets the one-thread environment first)
from _common import bench_main

# NeMoS' proximal gradient takes tens of seconds per full-size fit; float32 and float64
# ran equally fast in quick runs, so the suite keeps float32 only (add "nemos-float64" here)
NEMOS = ["nemos-float32"]


def problems(quick: bool):
    n = 10_000 if quick else 100_000
    out = []
    for fam in ("poisson", "gaussian"):
        lasso = {
            "name": f"lasso_{fam}",
            "family": fam,
            "penalty": "lasso",
            "alpha_frac": 0.05,
            "n": n,
            "p": 200,
            "seed": 4,
        }
        peers = ["glum", "skglm"] + NEMOS
        if fam == "gaussian":
            peers.insert(2, "sklearn-cd")
        out.append(
            (
                f"Lasso, {fam}",
                lasso,
                ["xglm", "xglm-rowmajor", "xglm-DataFrame"] + peers,
                ["xglm-ref"],
            )
        )
    # wide designs: the Newton models on working sets, with a sparse solution and with
    # one that outgrows the working set (finished by FISTA)
    for nonzero in (12, None):
        wide = {
            "name": "lasso_wide_poisson" + ("_sparse" if nonzero else ""),
            "family": "poisson",
            "penalty": "lasso",
            "alpha_frac": 0.05,
            "n": 5_000 if quick else 20_000,
            "p": 600 if quick else 1_200,
            "seed": 6,
        }
        if nonzero:
            wide["nonzero"] = nonzero
        effects = f"{nonzero} true effects" if nonzero else "a tenth of the features true effects"
        out.append(
            (
                f"Lasso, wide ({wide['p']:,} features, {effects}), poisson",
                wide,
                ["xglm", "xglm-fista", "glum", "skglm"] + NEMOS,
                ["xglm-ref"],
            )
        )
    for fam in ("poisson", "gaussian"):
        group = {
            "name": f"grouplasso_{fam}",
            "family": fam,
            "penalty": "group",
            "group_size": 10,
            "alpha_frac": 0.1,
            "n": n,
            "p": 200,
            "seed": 5,
        }
        if fam == "poisson":
            # skglm 0.5's GroupProxNewton + PoissonGroup fails on this problem
            # (ZeroDivisionError with fit_intercept=True at tol=1e-4, NaN at tighter tol,
            # a crash with an explicit unpenalized constant column), after minutes
            peers = list(NEMOS)
            group["note"] = (
                "skglm left out: its GroupProxNewton with the PoissonGroup datafit fails here "
                "(ZeroDivisionError with fit_intercept=True, NaNs at tighter tolerances); glum "
                "has no group penalty."
            )
        else:
            peers = ["skglm"] + NEMOS
            group["note"] = "glum has no group penalty."
        out.append((f"GroupLasso (20 groups of 10), {fam}", group, ["xglm"] + peers, ["xglm-ref"]))
    # a wide group fit on working sets: 8 of 100 groups of 8 are true effects
    wide = {
        "name": "grouplasso_wide_gaussian",
        "family": "gaussian",
        "penalty": "group",
        "group_size": 8,
        "active_groups": 8,
        "alpha_frac": 0.1,
        "n": 5_000 if quick else 20_000,
        "p": 800,
        "seed": 8,
        "note": "glum has no group penalty.",
    }
    out.append(
        (
            "GroupLasso, wide (100 groups of 8, 8 true), gaussian",
            wide,
            ["xglm", "xglm-fista", "skglm"] + NEMOS,
            ["xglm-ref"],
        )
    )
    return out


if __name__ == "__main__":
    bench_main("sparse", problems)
