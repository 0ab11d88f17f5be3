"""What a tuning searches: each parameter's range, scale or choices.

The classes live in :mod:`elastic.core.space` so that policies (layer 1) can
declare their spaces; this module keeps their import path.
"""

from __future__ import annotations

from elastic.core.space import Choice, Float, Int, Parameter, active, check_space, prefixed

__all__ = ["Choice", "Float", "Int", "Parameter", "active", "check_space", "prefixed"]
