"""The simulated node's kubelet: image pulls, container processes, probes, pod status."""
