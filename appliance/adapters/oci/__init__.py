"""OCI images: deterministic layers from a directory and a push over the distribution API v2 (image.py)."""

from appliance.adapters.oci.image import PushedImage, build_layer, push_image

__all__ = ["PushedImage", "build_layer", "push_image"]
