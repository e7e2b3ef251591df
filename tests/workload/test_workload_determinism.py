"""Same seed, same metrics; another seed, other folds."""

from __future__ import annotations

from .support import CANONICAL, QUICK, comparable, read_metrics, run_script


def test_same_seed_same_metrics_other_seed_other_metrics(tmp_path):
    runs = {}
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        proc = run_script(CANONICAL["parkinsons"], *QUICK, "--seed", seed,
                          "--output-dir", tmp_path / name)
        assert proc.returncode == 0, proc.stderr
        runs[name] = comparable(read_metrics(tmp_path / name))
    assert runs["a"] == runs["b"]
    assert runs["a"]["metrics"] != runs["c"]["metrics"]


def test_synthetic_cohorts_are_a_function_of_the_seed():
    from medmodels.datasets import DATASETS
    for name, spec in DATASETS.items():
        first, again, other = spec.builtin(3), spec.builtin(3), spec.builtin(4)
        assert first.features.equals(again.features) and first.target.equals(again.target), name
        if first.source == "synthetic":
            assert not first.features.equals(other.features), name
