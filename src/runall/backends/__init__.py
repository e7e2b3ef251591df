"""Where job attempts run: the protocol (`base`) and one package per backend (`local`, `slurm`)."""
