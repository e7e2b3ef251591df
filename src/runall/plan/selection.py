"""Selection: `--only` / `--exclude` ids or globs, `--tag`, and `-k` expressions."""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Iterable, Sequence

from runall.errors import UsageError
from runall.model import Job
from runall.plan.keywords import compile_keywords


def _matches(job: Job, pattern: str) -> bool:
    """An id, a glob over ids or script paths; a grid job's plain id names all its members."""
    return (job.id == pattern or job.id.split("@")[0] == pattern
            or fnmatchcase(job.id, pattern) or fnmatchcase(job.script, pattern))


def _check_known(jobs: Sequence[Job], patterns: list[str], option: str) -> None:
    ids = sorted({job.id.split("@")[0] for job in jobs})
    for pattern in patterns:
        if not any(_matches(job, pattern) for job in jobs):
            import difflib      # only for the message: keeps start-up fast

            near = difflib.get_close_matches(pattern, ids, n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(near)}?" if near else f"; known ids: {', '.join(ids) or '(none)'}"
            raise UsageError(f"no job matches {pattern!r}{hint}", where=option)


def select(jobs: Sequence[Job], only: Iterable[str] | None = None, exclude: Iterable[str] | None = None,
           tags: Iterable[str] | None = None, keywords: str | None = None) -> list[Job]:
    """The jobs left after every filter, in their original order.

    An `--only`/`--exclude` pattern that matches no job is a usage error naming the nearest ids;
    `tags` keeps jobs having any of them. Filters that leave nothing of a non-empty list are a
    usage error too, naming the filter and what there is to choose from.
    """
    only, exclude, tags = list(only or ()), list(exclude or ()), set(tags or ())
    _check_known(jobs, only, "--only")
    _check_known(jobs, exclude, "--exclude")
    known_tags = sorted({tag for job in jobs for tag in job.tags})
    unknown = sorted(tags - set(known_tags))
    if unknown and not tags & set(known_tags):
        import difflib      # only for the message: keeps start-up fast

        near = difflib.get_close_matches(unknown[0], known_tags, n=3, cutoff=0.6)
        raise UsageError(f"no job has tag {unknown[0]!r}; "
                         + (f"did you mean {', '.join(near)}?" if near else f"tags: {', '.join(known_tags) or '(none)'}"),
                         where="--tag")
    predicate = compile_keywords(keywords) if keywords is not None else None
    kept = [job for job in jobs
            if (not only or any(_matches(job, p) for p in only))
            and not any(_matches(job, p) for p in exclude)
            and (not tags or tags & set(job.tags))
            and (predicate is None or predicate(job))]
    if jobs and not kept:
        used = [flag for flag, given in (("--only", only), ("--exclude", exclude), ("--tag", tags),
                                         ("-k", keywords)) if given]
        ids = sorted({job.id.split("@")[0] for job in jobs})
        raise UsageError(f"no job left after the selection; ids: {', '.join(ids)}"
                         + (f"; tags: {', '.join(known_tags)}" if known_tags else ""), where=" ".join(used))
    return kept
