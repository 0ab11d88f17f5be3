"""Layer 2: the discrete-event simulator (in progress: the replica's queueing station)."""

from elastic.sim.server import Server, Settled

__all__ = ["Server", "Settled"]
