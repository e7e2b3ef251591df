"""Stage 7, execution: schedule jobs onto resources and run them through a backend.

Modules: `options` (command-line options), `command` (a run, `--resume`, `--status`),
`runner`, `scheduler`, `resources`, `backend` (the protocol) with `local` and `slurm`.
"""
