"""Nodes, pods and node autoscalers (layer 2).

Pods of a workload are scheduled onto nodes; a node autoscaler launches and
removes nodes; the simulator runs both under the pod-level decision loop.
What is here is data and pure deciders: :class:`ClusterState` (the nodes and
pods, as numpy columns), :class:`PodSpec`, :class:`NodeTemplate`, labels,
taints and tolerations, and the :class:`NodeAutoscaler` protocol.
"""

from elastic.nodes.cluster import ClusterState
from elastic.nodes.labels import Requirement, Taint, Toleration
from elastic.nodes.plan import Launch, NodeAutoscaler, NodePlan, Removal
from elastic.nodes.pods import PodSpec
from elastic.nodes.resources import Resources
from elastic.nodes.templates import NodeTemplate

__all__ = [
    "ClusterState",
    "Launch",
    "NodeAutoscaler",
    "NodePlan",
    "NodeTemplate",
    "PodSpec",
    "Removal",
    "Requirement",
    "Resources",
    "Taint",
    "Toleration",
]
