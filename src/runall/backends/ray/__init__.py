"""The Ray backend: each attempt is a Ray task that runs the job's argv as a subprocess on a
worker node (`worker`), placed by the job's resources; `cluster` connects (or starts a local
instance), `settings` reads `[tool.runall.ray]` and the address, `backend` submits, polls and
signals. Nothing here imports `ray` until a run needs the cluster."""
