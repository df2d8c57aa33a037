"""The CI job steps as one CLI, `pathops-ci <job>`: real Jenkinsfiles call it, the fake Jenkins runs it.

One module per concern: `config` (credentials file and job parameters from the environment), `git`
(clones and pushes with the `git` CLI), `callback` (POST to the control plane), `manifests` (agent
Jobs and rendered deploy files), `jobs/` (one function per CI job, listed in `catalog`),
`jenkinsfiles` (the pipelines' config.xml), `cli` (the command line). The contract is
docs/golden-paths.md.
"""
