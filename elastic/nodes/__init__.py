"""Nodes, pods and node autoscalers (layer 2).

Pods of a workload are scheduled onto nodes; a node autoscaler launches and
removes nodes; the simulator runs both under the pod-level decision loop
(:class:`elastic.sim.NodeLevel`). What is here is data and pure deciders:

- :class:`ClusterState`, the nodes and pods as numpy columns;
- :class:`PodSpec`, :class:`NodeTemplate`, :class:`Resources`, labels,
  requirements, taints and tolerations, and a node's allocatable
  (:func:`allocatable`, :func:`eks_reservation`);
- :class:`Scheduler`, in kube-scheduler's shape;
- the node autoscalers (:class:`NodeAutoscaler`): :class:`ClusterAutoscaler`,
  :class:`Karpenter` (with :class:`NodePool`, :class:`Budget`),
  :class:`EcsManagedScaling` (with :class:`CapacityProvider`), the
  :class:`DisruptionCost` knob, and Fargate's task sizes (:class:`FargateProfile`).
"""

from elastic.nodes.allocatable import Reservation, allocatable, eks_reservation
from elastic.nodes.cluster import ClusterState
from elastic.nodes.cluster_autoscaler import ClusterAutoscaler, NodeGroup
from elastic.nodes.disruption import DisruptionCost
from elastic.nodes.ecs import CapacityProvider, EcsManagedScaling, capacity_provider_reservation
from elastic.nodes.expanders import Expander
from elastic.nodes.fargate import FargateProfile, FargateSize, fargate_pod_size, fargate_task_size
from elastic.nodes.karpenter import Karpenter
from elastic.nodes.karpenter_budgets import Budget
from elastic.nodes.karpenter_nodepool import NodePool
from elastic.nodes.labels import Requirement, Taint, Toleration
from elastic.nodes.plan import Launch, NodeAutoscaler, NodePlan, Removal
from elastic.nodes.pods import PodSpec
from elastic.nodes.resources import Resources
from elastic.nodes.scheduler import Schedule, Scheduler
from elastic.nodes.templates import NodeTemplate

__all__ = [
    "Budget",
    "CapacityProvider",
    "ClusterAutoscaler",
    "ClusterState",
    "DisruptionCost",
    "EcsManagedScaling",
    "Expander",
    "FargateProfile",
    "FargateSize",
    "Karpenter",
    "Launch",
    "NodeAutoscaler",
    "NodeGroup",
    "NodePlan",
    "NodePool",
    "NodeTemplate",
    "PodSpec",
    "Removal",
    "Requirement",
    "Reservation",
    "Resources",
    "Schedule",
    "Scheduler",
    "Taint",
    "Toleration",
    "allocatable",
    "capacity_provider_reservation",
    "eks_reservation",
    "fargate_pod_size",
    "fargate_task_size",
]
