"""The Argo CD adapter: the GitOps port on the Argo CD REST API."""
