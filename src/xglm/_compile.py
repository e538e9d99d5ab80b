"""How xglm's programs are compiled: the on-disk cache and XLA's CPU options.

A first fit spends most of its time in XLA's CPU compiler, not in the solver: seconds
for a Newton fit whose warm call takes a tenth of one. Four settings of the compiler,
given to xglm's own programs only (``jax.jit``'s ``compiler_options``, so a user's other
JAX code is compiled as before), make that about three to four times faster without
slowing the fits measurably (``benchmarks/``; with the first, second and fourth below,
the small fit's programs compiled in 0.74 s instead of XLA's default 2.35 s, and the
Ridge fit's in 1.40 s instead of 4.36 s; the third took the Ridge fit's to 1.0 s):

* ``xla_cpu_use_fusion_emitters=False``: XLA's long-standing loop emitters generate the
  elementwise kernels, which compile much faster than the newer fusion emitters;
* ``xla_backend_optimization_level=1``: LLVM's lighter optimization pipeline. The heavy
  work of a fit is in matrix products and LAPACK calls that this does not touch;
* ``xla_disable_hlo_passes=tree_reduction_rewriter``: XLA rewrites every reduction of
  32 or more elements that it does not fuse (on the coefficients, ``p + 1``; on the
  presolve's row subsample) as a two-level sum. Each such sum, and each elementwise
  operation feeding it, then becomes a kernel of its own for LLVM to compile: in the
  Ridge fit's program 31 sums and about 20 operations. Without the rewrite they fuse as
  every other reduction does; a first Ridge fit (200,000 x 100) compiled in 1.0 s
  instead of 1.37 s, a first wide Lasso fit in 1.57 s instead of 2.20 s, and the warm
  fits were as fast. The sums it rewrote are short (at most the presolve's subsample),
  so summing them in one sweep moves their rounding far below any solver tolerance;
* ``xla_cpu_parallel_codegen_split_count``: the number of CPUs the process may run on
  (at most 32, XLA's default). XLA splits a program's kernels into that many LLVM
  modules to generate them in parallel; each module has a fixed cost, so more parts
  than CPUs only add time (a first unpenalized fit of 20,000 x 20 on one CPU: 1.34 s
  with 32 parts, 1.12 s with one; on two CPUs 0.92 s with 32, 0.85 s with two).

They apply on the CPU backend when the installed JAX accepts them (probed once, at the
first compile). ``XGLM_XLA_DEFAULTS=1`` compiles with XLA's defaults instead.

Compiled programs are also kept on disk between sessions (JAX's persistent compilation
cache in ``~/.cache/xglm/jax``; ``XGLM_CACHE_DIR`` moves it, ``XGLM_NO_COMPILATION_CACHE=1``
turns it off), unless the user configured a cache of their own.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax

__all__ = ["codegen_parts", "compiler_options", "configure_cache", "jit"]

FAST_COMPILE = {"xla_cpu_use_fusion_emitters": False, "xla_backend_optimization_level": 1}
NO_TREE_REDUCTIONS = {"xla_disable_hlo_passes": "tree_reduction_rewriter"}
SPLIT_OPTION = "xla_cpu_parallel_codegen_split_count"
MAX_CODEGEN_PARTS = 32


def codegen_parts() -> int:
    """The number of LLVM modules XLA splits a program into: one per CPU the process
    may run on, at most :data:`MAX_CODEGEN_PARTS`."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # no affinity on this platform
        cpus = os.cpu_count() or 1
    return max(1, min(MAX_CODEGEN_PARTS, cpus))


def configure_cache() -> None:
    """Turn on JAX's persistent compilation cache in xglm's cache directory, unless the
    user set one or ``XGLM_NO_COMPILATION_CACHE`` is set."""
    if os.environ.get("XGLM_NO_COMPILATION_CACHE") or jax.config.jax_compilation_cache_dir:
        return
    default = os.path.join(os.path.expanduser("~"), ".cache", "xglm", "jax")
    jax.config.update("jax_compilation_cache_dir", os.environ.get("XGLM_CACHE_DIR", default))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.2)


@functools.cache
def compiler_options() -> dict[str, Any]:
    """The XLA options xglm compiles its programs with (empty: XLA's defaults).

    Examples
    --------
    >>> from xglm._compile import compiler_options
    >>> set(compiler_options()) <= {*FAST_COMPILE, *NO_TREE_REDUCTIONS, SPLIT_OPTION}
    True
    """
    if os.environ.get("XGLM_XLA_DEFAULTS") or jax.default_backend() != "cpu":
        return {}

    def accepted(options):
        try:
            jax.jit(lambda x: x + 1, compiler_options=options).lower(1.0).compile()
        except Exception:
            return False
        return True

    extras = (NO_TREE_REDUCTIONS, {SPLIT_OPTION: codegen_parts()})
    every = {k: v for options in (FAST_COMPILE, *extras) for k, v in options.items()}
    if accepted(every):
        return every
    # an older JAX may lack an option, or compiler_options altogether: the fast-compile
    # pair, with each further option it accepts
    if not accepted(FAST_COMPILE):
        return {}
    options = dict(FAST_COMPILE)
    for extra in extras:
        if accepted({**options, **extra}):
            options.update(extra)
    return options


class _LazyJit:
    """``equinox.filter_jit`` of ``fn`` with :func:`compiler_options`, built at the first
    call (the options need the backend, which importing xglm should not start)."""

    def __init__(self, fn: Callable):
        self.fn = fn
        self.compiled: Callable | None = None
        functools.update_wrapper(self, fn)

    def __call__(self, *args, **kwargs):
        if self.compiled is None:
            options = compiler_options()
            jit_options = {"compiler_options": options} if options else {}
            self.compiled = eqx.filter_jit(self.fn, **jit_options)
        return self.compiled(*args, **kwargs)


def jit(fn: Callable) -> Callable:
    """Decorator: compile ``fn`` like ``equinox.filter_jit`` (arrays traced, everything
    else static), with xglm's compiler options."""
    return _LazyJit(fn)
