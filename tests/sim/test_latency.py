"""Per-interval latency statistics: numpy's own, over the arrays an interval settled."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from elastic.sim.records import QUANTILES, latency_fields, percentiles_of_sorted

latencies = arrays(np.float64, st.integers(1, 300), elements=st.floats(0, 1e4))


@settings(max_examples=100, deadline=None)
@given(parts=st.lists(latencies, min_size=1, max_size=4))
def test_interval_statistics_are_numpys_over_all_the_parts(parts):
    values = np.concatenate(parts)
    fields = latency_fields(parts)
    assert fields["latency_mean"] == np.mean(values)
    assert fields["latency_max"] == np.max(values)
    for name, q in QUANTILES.items():
        assert fields[name] == np.percentile(values, q)


def test_an_interval_without_completions_has_nan_statistics():
    for parts in ([], [np.empty(0)]):
        fields = latency_fields(parts)
        assert set(fields) == {"latency_mean", *QUANTILES, "latency_max"}
        assert all(np.isnan(v) for v in fields.values())


@settings(max_examples=300, deadline=None)
@given(values=latencies, q=st.lists(st.floats(0, 100), min_size=1, max_size=6))
def test_percentiles_of_sorted_values_are_numpys_to_the_last_bit(values, q):
    ours = percentiles_of_sorted(np.sort(values), q)
    assert ours == np.percentile(values, q).tolist()
