"""The controller runtime: the same loop drives a real system (layer 3)."""
