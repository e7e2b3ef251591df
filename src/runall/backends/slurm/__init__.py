"""The Slurm backend: each attempt is an sbatch job; `render` writes batch scripts and parses
squeue/sacct output, `backend` submits, polls and cancels."""
