"""ClusterState: rows, ids and requested resources stay consistent through nodes and pods."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from elastic.errors import ParameterError, SimulationError
from elastic.nodes.cluster import (
    BOUND,
    DRAINING,
    PENDING,
    READY,
    REGISTERED,
    ClusterState,
)
from elastic.nodes.labels import Taint, Toleration
from elastic.nodes.pods import PodSpec
from elastic.nodes.resources import Resources
from elastic.nodes.templates import NodeTemplate

GiB = 2**30
SMALL = NodeTemplate(
    "small", "m5.large", "on-demand", Resources(1930, 7 * GiB, 29), Decimal("0.096")
)
TAINTED = NodeTemplate(
    "gpu",
    "g5.xlarge",
    "on-demand",
    Resources(3920, 14 * GiB, 58),
    Decimal("1.006"),
    taints=(Taint("nvidia.com/gpu", "true"),),
)
WEB = PodSpec("web", Resources.parse(cpu="1", memory="1Gi"))
AGENT = PodSpec(
    "agent",
    Resources.parse(cpu="100m", memory="128Mi"),
    daemon=True,
    tolerations=(Toleration(operator="Exists"),),
)


def cluster() -> ClusterState:
    return ClusterState([SMALL, TAINTED], [WEB, AGENT])


def test_admits_is_labels_taints_and_an_empty_node() -> None:
    c = cluster()
    assert c.admits.tolist() == [[True, False], [True, True]]


def test_requested_follows_bind_and_remove_exactly() -> None:
    c = cluster()
    node = c.add_node("small", 0.0)
    c.set_node_state(node, READY, 30.0)
    pods = [c.add_pod("web", 31.0) for _ in range(2)]
    c.bind(pods[0], node, 32.0)
    row = c.row_of(node)
    assert c.free(row) == Resources(930, 6 * GiB, 28)
    with pytest.raises(SimulationError, match="does not fit"):
        c.bind(pods[1], node, 33.0)  # 1930m - 1000m < 1000m
    agent = c.add_pod("agent", 33.0)
    c.bind(agent, node, 33.0)
    assert c.daemon_requested[row].tolist() == [100, 128 * 2**20, 1]
    c.remove_pod(pods[0], 40.0)
    assert c.requested[row].tolist() == [100, 128 * 2**20, 1]
    assert c.pending().tolist() == [pods[1]]


def test_a_pod_is_refused_where_it_may_not_run() -> None:
    c = cluster()
    node = c.add_node("gpu", 0.0)
    c.set_node_state(node, READY, 1.0)
    pod = c.add_pod("web", 1.0)
    with pytest.raises(SimulationError, match="may not run"):
        c.bind(pod, node, 2.0)


def test_removing_a_node_returns_its_pods_to_pending_and_frees_its_row() -> None:
    c = cluster()
    node = c.add_node("small", 0.0)
    c.set_node_state(node, READY, 10.0)
    pod = c.add_pod("web", 10.0)
    c.bind(pod, node, 11.0)
    assert c.remove_node(node, 50.0) == [pod]
    row = c.pod_row(pod)
    assert c.pod_state[row] == PENDING and c.pending_since[row] == 50.0
    assert c.nodes() == 0
    again = c.add_node("small", 60.0)
    assert again != node and c.row_of(again) == 0  # the row is reused, the id is not
    assert c.requested[0].tolist() == [0, 0, 0]


def test_rows_grow_and_are_reused_so_memory_follows_what_is_live() -> None:
    c = cluster()
    for t in range(200):
        node = c.add_node("small", float(t))
        c.set_node_state(node, READY, float(t))
        pod = c.add_pod("web", float(t))
        c.bind(pod, node, float(t))
        c.remove_pod(pod, float(t))
        c.remove_node(node, float(t))
    assert len(c.node_id) == 16 and len(c.pod_id) == 16
    nodes = [c.add_node("small", 0.0) for _ in range(40)]
    assert len(set(c.row_of(n) for n in nodes)) == 40
    assert c.node_rows().tolist() == [c.row_of(n) for n in nodes]  # oldest first


def test_node_lifecycle_only_moves_forward() -> None:
    c = cluster()
    node = c.add_node("small", 0.0)
    c.set_node_state(node, REGISTERED, 1.0)
    c.set_node_state(node, DRAINING, 2.0)
    with pytest.raises(SimulationError, match="draining to ready"):
        c.set_node_state(node, READY, 3.0)


def test_states_and_unknown_names() -> None:
    c = cluster()
    with pytest.raises(ParameterError, match="template='huge'"):
        c.add_node("huge", 0.0)
    with pytest.raises(ParameterError, match="spec='db'"):
        c.add_pod("db", 0.0)
    with pytest.raises(SimulationError, match="node 7"):
        c.row_of(7)
    with pytest.raises(ParameterError, match="unique"):
        ClusterState([SMALL, SMALL], [WEB])
    node = c.add_node("small", 0.0)
    c.set_node_state(node, READY, 1.0)
    pod = c.add_pod("web", 1.0)
    c.bind(pod, node, 1.0)
    assert c.pod_state[c.pod_row(pod)] == BOUND
    assert np.flatnonzero(c.schedulable()).tolist() == [c.row_of(node)]


def test_fits_is_ready_admitted_and_roomy() -> None:
    c = cluster()
    launching = c.add_node("small", 0.0)
    ready = c.add_node("small", 0.0)
    gpu = c.add_node("gpu", 0.0)
    full = c.add_node("small", 0.0)
    for node in (ready, gpu, full):
        c.set_node_state(node, READY, 1.0)
    c.bind(c.add_pod("web", 1.0), full, 1.0)
    web = c.spec_index["web"]
    assert np.flatnonzero(c.fits(web)).tolist() == [c.row_of(ready)]
    assert not c.fits(web)[c.row_of(launching)]
    room = c.headroom()
    room[c.row_of(ready), 0] = 999  # a caller's own what-if: less cpu left than a pod asks
    assert not c.fits(web, room).any()
    c.set_node_state(ready, DRAINING, 2.0)
    assert not c.fits(web).any()  # cordoned


def test_a_template_price_is_exact_however_it_is_written() -> None:
    for written in (0.1, "0.1", Decimal("0.1")):
        template = NodeTemplate("t", "m5.large", "on-demand", Resources(1, 1, 1), written)  # type: ignore[arg-type]
        assert template.price_per_hour == Decimal("0.1")
    with pytest.raises(ParameterError, match="price_per_hour"):
        NodeTemplate("t", "m5.large", "on-demand", Resources(1, 1, 1), Decimal("-1"))
