"""Real datasets loaded at run time from installed packages (nothing is copied here).

``grasshopper`` reads the locust auditory-receptor recording that ships with the
``nitime`` wheel (``pip install nitime``): a 10 s acoustic stimulus sampled at 20 kHz and
the spike times of one receptor neuron.
"""

from __future__ import annotations

import os

import numpy as np

__all__ = ["grasshopper"]


def grasshopper(trial: int = 1, bin_ms: float = 1.0):
    """The nitime grasshopper recording binned into spike counts.

    Parameters
    ----------
    trial : {1, 2}
        Which of the two recordings.
    bin_ms : float
        Bin width in milliseconds (a multiple of the 0.05 ms stimulus sampling).

    Returns
    -------
    xarray.Dataset
        ``spikes`` (counts per bin) and ``stimulus`` (mean stimulus per bin) on a ``time``
        coordinate in seconds (bin starts).

    Examples
    --------
    >>> from xglm.datasets import grasshopper
    >>> ds = grasshopper()
    >>> ds.sizes["time"], int(ds.spikes.sum())
    (10000, 929)
    """
    import xarray as xr

    try:
        import nitime
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "grasshopper: the data ship with the nitime package. Fix: pip install nitime."
        ) from exc
    if trial not in (1, 2):
        raise ValueError(f"trial: got {trial!r}; expected 1 or 2. Fix: pass trial=1 or trial=2.")
    folder = os.path.join(os.path.dirname(nitime.__file__), "data")
    stim = np.loadtxt(os.path.join(folder, f"grasshopper_stimulus{trial}.txt"))
    spikes_us = np.loadtxt(os.path.join(folder, f"grasshopper_spike_times{trial}.txt"))
    dt_us = stim[1, 0] - stim[0, 0]
    per_bin = int(round(bin_ms * 1000 / dt_us))
    if per_bin < 1 or abs(per_bin * dt_us - bin_ms * 1000) > 1e-9:
        raise ValueError(
            f"bin_ms: got {bin_ms!r}; expected a multiple of {dt_us / 1000:g} ms. Fix: round "
            f"it to a multiple, e.g. bin_ms={max(per_bin, 1) * dt_us / 1000:g}."
        )
    n_bins = stim.shape[0] // per_bin
    values = stim[: n_bins * per_bin, 1].reshape(n_bins, per_bin).mean(axis=1)
    edges = stim[0, 0] + np.arange(n_bins + 1) * per_bin * dt_us
    counts, _ = np.histogram(spikes_us, bins=edges)
    time = edges[:-1] / 1e6
    return xr.Dataset(
        {
            "spikes": ("time", counts.astype(float), {"units": "spikes/bin"}),
            "stimulus": ("time", values, {"units": "a.u.", "long_name": "acoustic stimulus"}),
        },
        coords={"time": ("time", time, {"units": "s"})},
        attrs={"source": "nitime grasshopper recording", "bin_ms": bin_ms},
    )
