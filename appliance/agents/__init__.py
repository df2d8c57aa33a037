"""The agents PathOps runs as Kubernetes Jobs in `<app>-agents`: the Evidence Collector (evidence.py),
the Fix Agent (fix.py) and the Verification Agent (verify.py); entry `python -m appliance.agents`."""
