"""The Kubernetes adapter: the Cluster port on the official client."""
