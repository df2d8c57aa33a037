"""Protocol-faithful stand-ins for the systems PathOps governs, one package per system.

Each fake is an ASGI app on its own loopback port, keeps real state, enforces the real system's
rules, logs who did what (`/_fake/access-log`) and takes injected faults (`/_fake/faults`); see
`fakes/common`. The fakes import nothing from `appliance`, and nothing from each other but `common`.
"""
