"""Planning: from a repository to the list of jobs to run, without running anything.

Stages in order: `settings` (pyproject `[tool.runall]` and defaults), `discovery` (which
files are training scripts), `flags` (which options each script accepts, by reading it),
`jobfile` (jobs declared in runall.yaml), `grid` (parameter grids), `jobs` (one Job per
script or grid member, with its argv), `selection` and `keywords` (--only/--exclude/--tag/-k).
"""
