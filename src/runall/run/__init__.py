"""Running a job list: resources and scheduling, the run loop (`runner`), its events, and the
entry points for a run, `--resume`, `--detach` and `--status` (`command`)."""
