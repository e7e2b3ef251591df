import pytest

from runall.errors import UsageError
from runall.model import Job
from runall.plan.selection import select

JOBS = [Job(id=i, script=f"s/train_{i}.py", argv=[], tags=t) for i, t in (
    ("als", ["sklearn", "regression"]), ("alzheimers", ["sklearn"]),
    ("alzheimers_structured", ["sklearn", "config"]), ("diabetes", ["sklearn", "regression"]),
    ("brain_mri@epochs=1", ["torch"]), ("brain_mri@epochs=2", ["torch"]))]


def ids(jobs) -> list[str]:
    return [j.id for j in jobs]


def test_only_and_exclude_with_globs_and_commas() -> None:
    assert ids(select(JOBS, only=["alz*"])) == ["alzheimers", "alzheimers_structured"]
    assert ids(select(JOBS, only=["alz*", "als"], exclude=["*structured"])) == ["als", "alzheimers"]
    assert ids(select(JOBS, only=["s/train_d*"])) == ["diabetes"]
    assert ids(select(JOBS, only=["brain_mri"])) == ["brain_mri@epochs=1", "brain_mri@epochs=2"]
    assert ids(select(JOBS, only=["brain_mri@epochs=2"])) == ["brain_mri@epochs=2"]
    assert ids(select(JOBS)) == ids(JOBS)


def test_tags_and_keyword_expressions() -> None:
    assert ids(select(JOBS, tags=["torch"])) == ["brain_mri@epochs=1", "brain_mri@epochs=2"]
    assert ids(select(JOBS, tags=["config", "torch"]))[0] == "alzheimers_structured"
    assert ids(select(JOBS, keywords="alz and not structured")) == ["alzheimers"]
    assert ids(select(JOBS, keywords="regression or (torch and epochs=2)")) == [
        "als", "diabetes", "brain_mri@epochs=2"]
    assert ids(select(JOBS, keywords="ALS")) == ["als"]


@pytest.mark.parametrize("expr", ["", "als and", "(als", "als)", "not", "and als", "als diabetes"])
def test_malformed_keyword_expression_is_a_usage_error(expr) -> None:
    with pytest.raises(UsageError, match="-k"):
        select(JOBS, keywords=expr)


def test_unknown_id_suggests_nearest() -> None:
    with pytest.raises(UsageError, match=r"--only: no job matches 'diabets'; did you mean diabetes"):
        select(JOBS, only=["diabets"])
    with pytest.raises(UsageError, match="--exclude: no job matches 'nosuchjob'; known ids: als"):
        select(JOBS, exclude=["nosuchjob"])

