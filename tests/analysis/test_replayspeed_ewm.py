"""ewm_mean's loop for a series with no gap after its first number gives the general recursion's bits."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.ta_kernels import ewm_mean


def _general(values: np.ndarray, com: float) -> np.ndarray:
    """ewm_mean through its general loop: a NaN appended after the series sends it there (a NaN follows a number),
    and the recursion is causal, so the first len(values) results are the general loop's over `values`."""
    return ewm_mean(np.append(values, np.nan), com)[:-1]


def _series(kind: str, rng: np.random.Generator) -> np.ndarray:
    values = np.cumsum(rng.normal(size=400)) + 100.0
    values[50:60] = values[50]  # a constant run
    if kind == "prefix":
        values[:37] = np.nan
    elif kind == "negative_nan_prefix":
        values[:5] = -np.nan
    elif kind == "gap":
        values[:10] = np.nan
        values[200:203] = np.nan
    elif kind == "infinite":
        values[100] = np.inf
    elif kind == "all_nan":
        values[:] = np.nan
    elif kind == "last_only":
        values[:-1] = np.nan
    return values


@pytest.mark.parametrize("kind", ["plain", "prefix", "negative_nan_prefix", "gap", "infinite", "all_nan", "last_only"])
@pytest.mark.parametrize("com", [0.5, 13.0, 99.5])
def test_ewm_mean_when_any_series_then_same_bits_as_general_recursion(kind, com):
    values = _series(kind, np.random.default_rng(7))

    result = ewm_mean(values, com)

    assert result.view(np.int64).tolist() == _general(values, com).view(np.int64).tolist()
    assert np.isnan(result).sum() == np.isnan(_general(values, com)).sum()
