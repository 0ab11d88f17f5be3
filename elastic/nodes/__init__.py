"""Nodes, pods and node autoscalers (layer 2)."""
