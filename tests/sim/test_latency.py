"""Per-interval latency statistics: percentiles of sorted values, and one sort per window."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from elastic.sim.result import QUANTILES, LatencySorter, latency_fields, percentiles_of_sorted

latencies = arrays(np.float64, st.integers(1, 300), elements=st.floats(0, 1e4))


@settings(max_examples=200, deadline=None)
@given(values=latencies, q=st.lists(st.floats(0, 100), min_size=1, max_size=5))
def test_percentiles_of_sorted_values_are_numpys(values, q):
    ours = percentiles_of_sorted(np.sort(values), q)
    np.testing.assert_allclose(ours, np.percentile(values, q), rtol=1e-12, atol=1e-12)


@settings(max_examples=100, deadline=None)
@given(parts=st.lists(latencies, max_size=4), other=latencies)
def test_the_sorter_sorts_each_window_and_reuses_only_the_same_parts(parts, other):
    sort = LatencySorter()
    expected = np.sort(np.concatenate(parts)) if parts else np.empty(0)
    first = sort(parts)
    np.testing.assert_array_equal(first, expected)
    assert sort(list(parts)) is first  # the same arrays again: the scrape's sort is reused
    changed = [*parts, other]
    np.testing.assert_array_equal(sort(changed), np.sort(np.concatenate(changed)))


def test_an_interval_without_completions_has_nan_statistics():
    fields = latency_fields(np.empty(0))
    assert set(fields) == {"latency_mean", *QUANTILES, "latency_max"}
    assert all(np.isnan(v) for v in fields.values())
