"""The embedded target: its systems started as one child process (stack.py) and the seeded project
(seed.py, from the content in appliance/seed/<project>/).

    stack = EmbeddedStack(data_dir, control_plane_url=url, secrets=ControlPlaneSecrets(...))
    endpoints = await stack.start()
    report = await seed(endpoints, control_plane_url=url, secrets=..., progress=print)
    await stack.stop()

Modules: endpoints (URLs and credentials), stack (the child process), content (seed files, rendering),
client (HTTP and the one status -> error mapping), gitlab / platform / jenkins (what the seed does in
each system), deploy (the first deploy, the wait for Argo CD), report (what a run did), seed.
"""

from appliance.adapters.embedded.content import SHOP, ProjectSeed
from appliance.adapters.embedded.endpoints import ControlPlaneSecrets, Endpoints, Service
from appliance.adapters.embedded.report import SeedReport
from appliance.adapters.embedded.seed import seed
from appliance.adapters.embedded.stack import EmbeddedStack

__all__ = [
    "SHOP",
    "ControlPlaneSecrets",
    "EmbeddedStack",
    "Endpoints",
    "ProjectSeed",
    "SeedReport",
    "Service",
    "seed",
]
