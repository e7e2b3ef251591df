from runall.plan.flags.model import Option, ScriptFlags
from runall.plan.jobs import GlobalValues, assign_ids, base_id, build_argv, build_jobs

PY = "python"


def flags(path: str, *strings: str, known: bool = True) -> ScriptFlags:
    return ScriptFlags(path=path, cli="argparse" if known else "unknown",
                       options=[Option(strings=(s,)) for s in strings], problems=[])


def test_ids_strip_train_prefix_and_qualify_collisions() -> None:
    assert base_id("src/pkg/training/train_als.py") == "als"
    assert base_id("scripts/finetune.py") == "finetune"
    ids = assign_ids(["mlops/pipelines/train_model.py", "scripts/train_model.py", "scripts/train_als.py"])
    assert ids == {"mlops/pipelines/train_model.py": "pipelines.model",
                   "scripts/train_model.py": "scripts.model", "scripts/train_als.py": "als"}
    deep = assign_ids(["a/x/train_m.py", "b/x/train_m.py"])
    assert deep == {"a/x/train_m.py": "a.x.m", "b/x/train_m.py": "b.x.m"}


def test_argv_uses_each_scripts_own_spelling_only() -> None:
    values = GlobalValues(epochs=3, folds=5, seed=7, python=PY)
    roles = {"epochs": "--num_train_epochs", "output_dir": "--save-dir", "folds": None, "seed": "--seed"}
    argv = build_argv("s/train_a.py", roles, values, "results/a")
    assert argv == [PY, "s/train_a.py", "--num_train_epochs", "3", "--seed", "7", "--save-dir", "results/a"]
    assert "--folds" not in argv and "5" not in argv


def test_argv_without_roles_gets_no_role_options_but_extra_args() -> None:
    values = GlobalValues(epochs=3, python=PY, extra_args=("--verbose",))
    assert build_argv("t.py", {}, values, "results/t") == [PY, "t.py", "--verbose"]


def test_declared_args_win_over_global_values() -> None:
    values = GlobalValues(epochs=3, python=PY)
    argv = build_argv("t.py", {"epochs": "--epochs"}, values, None, {"epochs": 10, "amp": True, "off": False})
    assert argv == [PY, "t.py", "--epochs", "10", "--amp"]


def test_build_jobs_output_dirs_and_unknown_flags() -> None:
    values = GlobalValues(epochs=2, output_base="out", python=PY)
    jobs = build_jobs({
        "scripts/train_a.py": flags("scripts/train_a.py", "--epochs", "--output-dir"),
        "scripts/train_b.py": flags("scripts/train_b.py", known=False),
    }, values)
    a, b = jobs
    assert (a.id, a.output_dir, a.argv[2:]) == ("a", "out/a", ["--epochs", "2", "--output-dir", "out/a"])
    assert a.roles["epochs"] == "--epochs" and a.flags_known
    assert (b.id, b.output_dir, b.argv, b.flags_known) == ("b", None, [PY, "scripts/train_b.py"], False)


def test_declared_entries_merge_by_script_and_grid_expands() -> None:
    from runall.plan.jobfile import Declared

    values = GlobalValues(epochs=9, output_base="out", python=PY)
    scripts = {
        "s/train_a.py": flags("s/train_a.py", "--epochs", "--lr", "--output-dir"),
        "s/train_b.py": flags("s/train_b.py", known=False),
        "extra/fit.py": flags("extra/fit.py", "--cv", "--out"),
    }
    declared = [
        Declared("s/train_a.py", "runall.yaml", {"grid": {"lr": [0.1, 0.01]}, "tags": ["sk"], "cpus": 2}, 2),
        Declared("s/train_b.py", "runall.yaml", {"flags": {"epochs": "--n-iter"}}, 5),
        Declared("extra/fit.py", "runall.yaml", {"flags": {"folds": "--cv", "output_dir": "--out"},
                                                 "args": {"folds": 3}, "after": ["a"]}, 7),
    ]
    jobs = build_jobs(scripts, values, declared=declared, discovered=["s/train_a.py", "s/train_b.py"])
    assert [j.id for j in jobs] == ["a@lr=0.1", "a@lr=0.01", "b", "fit"]
    a1 = jobs[0]
    assert a1.argv[2:] == ["--epochs", "9", "--output-dir", "out/a@lr=0.1", "--lr", "0.1"]
    assert (a1.cpus, a1.tags, a1.source, a1.params) == (2, ["sk"], "config", {"lr": 0.1})
    assert jobs[2].argv[2:] == ["--n-iter", "9"]
    fit = jobs[3]
    assert fit.argv[2:] == ["--out", "out/fit", "--cv", "3"] and fit.after == ["a@lr=0.1", "a@lr=0.01"]


def test_cli_grid_applies_only_where_the_script_has_the_option() -> None:
    values = GlobalValues(python=PY)
    scripts = {"a.py": flags("a.py", "--num-epochs"), "b.py": flags("b.py", "--lr")}
    jobs = build_jobs(scripts, values, cli_grid={"epochs": ["1", "2"]})
    assert [j.id for j in jobs] == ["a@epochs=1", "a@epochs=2", "b"]
    assert jobs[1].argv[2:] == ["--num-epochs", "2"]


def test_colliding_declared_ids_are_an_error() -> None:
    import pytest

    from runall.errors import UsageError
    from runall.plan.jobfile import Declared

    scripts = {"a/train_x.py": flags("a/train_x.py"), "b/train_y.py": flags("b/train_y.py")}
    declared = [Declared("b/train_y.py", "runall.yaml", {"id": "x"}, 4)]
    with pytest.raises(UsageError, match=r"runall.yaml:4: job id 'x' is used twice"):
        build_jobs(scripts, GlobalValues(python=PY), declared=declared)


# --- each framework's own syntax, and values that cannot be passed -------------------------------

from runall.plan.flags.model import JOINED, OVERRIDE  # noqa: E402
from runall.plan.jobs import render  # noqa: E402


def test_render_in_each_syntax() -> None:
    assert render("--epochs", 3) == ["--epochs", "3"]
    assert render("--max_iters", 3, JOINED) == ["--max_iters=3"]
    assert render("trainer.max_epochs", 3, OVERRIDE) == ["trainer.max_epochs=3"]
    assert render("hydra.run.dir", "results/a@lr=0.1,x") == ["hydra.run.dir='results/a@lr=0.1,x'"]
    assert render("hydra.run.dir", "results/my model") == ["hydra.run.dir='results/my model'"]
    assert render("debug", True, OVERRIDE) == ["debug=true"]


def test_a_hydra_script_gets_overrides_and_a_lightning_cli_script_fit() -> None:
    values = GlobalValues(epochs=2, seed=1, output_base="out", python=PY)
    hydra = ScriptFlags("train.py", "hydra", [Option((k,), syntax=OVERRIDE) for k in
                                                ("trainer.max_epochs", "seed", "hydra.run.dir")])
    lightning = ScriptFlags("cli.py", "lightning", [Option(("--trainer.max_epochs",)), Option(("--seed_everything",))],
                            leading=("fit",))
    jobs = build_jobs({"train.py": hydra, "cli.py": lightning}, values)
    assert jobs[0].argv[2:] == ["trainer.max_epochs=2", "seed=1", "hydra.run.dir=out/train"]
    assert jobs[1].argv[2:] == ["fit", "--trainer.max_epochs", "2", "--seed_everything", "1"]


def test_positional_args_overrides_and_flags_from_the_job_file() -> None:
    from runall.plan.jobfile import Declared

    values = GlobalValues(epochs=5, python=PY)
    scripts = {"train.py": ScriptFlags("train.py", "unknown")}
    declared = [Declared("train.py", "runall.yaml", {
        "args": ["config/shakespeare.py"], "overrides": ["model.depth=4", "trainer.max_epochs=9"],
        "flags": {"epochs": "trainer.max_epochs", "seed": "--seed"}}, 2)]
    job, = build_jobs(scripts, values, declared=declared)
    assert job.argv[2:] == ["config/shakespeare.py", "model.depth=4", "trainer.max_epochs=9"]  # the override wins
    values = GlobalValues(epochs=5, seed=3, python=PY)
    job, = build_jobs(scripts, values, declared=[Declared("train.py", "runall.yaml", {
        "flags": {"epochs": "trainer.max_epochs", "seed": "--seed"}}, 2)])
    assert job.argv[2:] == ["trainer.max_epochs=5", "--seed", "3"] and job.dropped == {}


def test_values_that_cannot_reach_a_job_are_recorded_with_why() -> None:
    from runall.plan.jobfile import Declared

    values = GlobalValues(epochs=2, batch_size=8, output_given=True, output_base="out", python=PY)
    scripts = {"a.py": flags("a.py", "--epochs", "--lr"), "b.py": flags("b.py", known=False),
               "c.py": flags("c.py", "--lr")}
    declared = [Declared("c.py", "runall.yaml", {"args": {"epochs": 4}}, 3)]
    a, b, c = build_jobs(scripts, values, declared=declared, cli_grid={"lr": ["1"]}, discovered=["a.py", "b.py"])
    assert a.dropped == {"batch_size": "no batch size option", "output_dir": "no output dir option"}
    unknown = "its options could not be read (see --inspect)"
    assert b.dropped == {"epochs": unknown, "batch_size": unknown, "output_dir": unknown, "grid:lr": unknown}
    assert "epochs" not in c.dropped and c.dropped["batch_size"] == "no batch size option"
    assert a.to_dict()["dropped"] == a.dropped
