"""KEDA: the ScaledObject policy, its triggers and fallback, and its manifests.

:class:`ScaledObject` is the policy; :class:`PrometheusTrigger`,
:class:`ResourceTrigger` and :class:`CronTrigger` its triggers;
:class:`Fallback` its ``spec.fallback``. ``ScaledObject.from_manifest`` and
``to_manifest`` read and write ``keda.sh/v1alpha1`` manifests.
"""

from elastic.keda.fallback import Fallback
from elastic.keda.scaled_object import ScaledObject
from elastic.keda.triggers import CronTrigger, PrometheusTrigger, ResourceTrigger, Trigger

__all__ = [
    "CronTrigger",
    "Fallback",
    "PrometheusTrigger",
    "ResourceTrigger",
    "ScaledObject",
    "Trigger",
]
