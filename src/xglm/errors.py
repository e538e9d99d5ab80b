"""Public exceptions and warnings raised by xglm.

Every error message names the argument, what was given, what was expected and how
to fix it.
"""

from __future__ import annotations

__all__ = [
    "XglmError",
    "DesignError",
    "ResponseError",
    "PenaltyError",
    "RankDeficientError",
    "ConvergenceWarning",
    "NotFittedError",
    "FileFormatError",
    "DroppedRowsWarning",
    "BoundaryWarning",
    "SelectionInferenceWarning",
]


class XglmError(ValueError):
    """Base class of all xglm errors about bad input (a ``ValueError``)."""


class DesignError(XglmError):
    """The predictors (``X``, a formula or labelled data) cannot form a design."""


class ResponseError(XglmError):
    """The response ``y`` is outside the family's support or has the wrong shape."""


class PenaltyError(XglmError):
    """A regularizer or its strength does not fit the coefficients."""


class RankDeficientError(XglmError):
    """The design has linearly dependent columns and the fit is not penalized."""


class NotFittedError(XglmError, AttributeError):
    """A fitted attribute or method was used before ``fit``."""


class FileFormatError(XglmError):
    """A file is not a readable xglm model file."""


class ConvergenceWarning(UserWarning):
    """A solver stopped before its convergence criterion was met."""


class DroppedRowsWarning(UserWarning):
    """Rows with missing values were dropped because ``na_action="drop"``."""


class BoundaryWarning(UserWarning):
    """Fitted means reached the boundary of the family's support (probabilities
    numerically 0 or 1, rates numerically 0), as R's ``glm.fit`` warns: the
    maximum-likelihood estimates are infinite (separated outcomes, a silent neuron)."""


class SelectionInferenceWarning(UserWarning):
    """Standard errors, tests or intervals were asked of a fit whose L1 or group penalty
    selects features: they hold the selection fixed and ignore it, so they are not valid
    inference (p-values too small, intervals too narrow)."""
