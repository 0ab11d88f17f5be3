"""Helpers for testing policies and controllers built on elastic.

- :mod:`elastic.testing.properties`: random simulated cases and the properties
  every run keeps (conservation, determinism, common random numbers, exact bills).
- :mod:`elastic.testing.strategies`: Hypothesis strategies for elastic's values;
  it needs the optional extra ``pip install 'elastic[testing]'``.

The conformance checks every policy passes are :mod:`elastic.checks`.
"""
