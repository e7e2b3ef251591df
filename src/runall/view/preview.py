"""Preview: `--list`, `--dry-run` and `--inspect`, as text for people and JSON for tools."""

from __future__ import annotations

import json
import sys
from typing import Any, Sequence, TextIO

from runall.model import Job
from runall.plan.discovery import Decision
from runall.plan.flags.model import ScriptFlags
from runall.plan.flags.roles import Assignment

ROLE_COLUMNS = ("epochs", "folds", "output_dir")
# How each value given for every job is named in messages: role -> command-line option.
GIVEN_AS = {"epochs": "--epochs", "folds": "--folds", "batch_size": "--batch-size", "seed": "--seed",
            "data_path": "--data-path", "output_dir": "--output-base"}


def list_payload(jobs: Sequence[Job]) -> dict[str, Any]:
    """The stable JSON shape of `--list --format json`."""
    return {"jobs": [{
        "id": job.id, "name": job.name, "script": job.script, "options": job.options,
        "roles": job.roles, "flags_known": job.flags_known, "argv": job.argv,
        "tags": job.tags, "source": job.source, "dropped": job.dropped, "will_fail": job.will_fail,
    } for job in jobs]}


def why_payload(decisions: Sequence[Decision]) -> dict[str, Any]:
    """The `discovery` part of `--list --why --format json`: every decision, files and folders
    (a folder's path ends in `/`: nothing under it was looked at)."""
    files = [d for d in decisions if not d.path.endswith("/")]
    return {"files_looked_at": len(files), "taken": sum(d.taken for d in files),
            "decisions": [d.to_dict() for d in sorted(decisions)]}


def _write_why(decisions: Sequence[Decision], out: TextIO) -> None:
    summary = why_payload(decisions)
    width = max((len(d.path) for d in decisions), default=0)
    for decision in sorted(decisions):
        mark = "taken" if decision.taken else "skip "
        out.write(f"{mark}  {decision.path.ljust(width)}  {decision.reason}\n")
    folders = len(decisions) - summary["files_looked_at"]
    out.write(f"{summary['files_looked_at']} Python file(s) looked at, {summary['taken']} taken"
              f"{f'; {folders} folder(s) not entered' if folders else ''}\n\n")


def inspect_payload(results: Sequence[ScriptFlags], roles: Sequence[Assignment]) -> dict[str, Any]:
    """The stable JSON shape of `--inspect --format json`."""
    scripts = []
    for flags, assignment in zip(results, roles):
        subcommands: dict[str, list[str]] = {}
        for option in flags.options:
            if option.subcommand:
                subcommands.setdefault(option.subcommand, []).extend(option.strings)
        scripts.append({
            "path": flags.path, "cli": flags.cli, "source": flags.source,
            "options": [s for o in flags.options if not o.subcommand for s in o.strings],
            "subcommands": subcommands, "roles": assignment.roles, "problems": flags.problems,
            "notes": flags.notes + assignment.notes, "leading": list(flags.leading),
            "syntax": {o.primary: o.syntax for o in flags.options if o.syntax != "separate"},
            "files": sorted(flags.files),
        })
    return {"scripts": scripts}


def drop_lines(jobs: Sequence[Job]) -> list[str]:
    """One line per value that cannot reach a job ("epochs not passed to dcgan: no epochs option"),
    then one summary line per such value ("--epochs reached 3 of 10 job(s)")."""
    lines = [f"{_what(key)} not passed to {job.id}: {reason}" for job in jobs for key, reason in job.dropped.items()]
    for key in dict.fromkeys(key for job in jobs for key in job.dropped):
        reached = sum(key not in job.dropped for job in jobs)
        lines.append(f"{_flag(key)} reached {reached} of {len(jobs)} job(s)")
    return lines


def _what(key: str) -> str:
    return f"--grid {key[5:]}" if key.startswith("grid:") else key.replace("_", " ")


def _flag(key: str) -> str:
    return f"--grid {key[5:]}" if key.startswith("grid:") else GIVEN_AS.get(key, key)


def _role_cell(job: Job) -> str:
    if job.will_fail:
        return f"will fail: {job.will_fail}"
    if not job.flags_known:
        return "flags: unknown"
    found = [f"{role}={job.roles[role]}" for role in ROLE_COLUMNS if job.roles.get(role)]
    return " ".join(found) or "-"


def _rows(jobs: Sequence[Job]) -> list[tuple[str, ...]]:
    return [(job.id, job.script, _role_cell(job), ",".join(job.tags)) for job in jobs]


Sources = Sequence[tuple[str, Any, str]]      # (option, value, where it came from)


def print_list(jobs: Sequence[Job], fmt: str, sources: Sources | None = None, out: TextIO = sys.stdout,
               why: Sequence[Decision] | None = None) -> None:
    """`--list`: a rich table on a terminal, aligned plain text otherwise, or JSON; with
    `sources` (`-v`), each setting not at its default and where its value came from; with `why`
    (`--why`), discovery's decisions first (in JSON, under "discovery")."""
    if fmt == "json":
        payload = list_payload(jobs)
        if why is not None:
            payload["discovery"] = why_payload(why)
        if sources is not None:
            payload["settings"] = [{"option": o, "value": v, "source": w} for o, v, w in sources]
        json.dump(payload, out, indent=2, default=str)
        out.write("\n")
        return
    if why is not None:
        _write_why(why, out)
    _print_table(jobs, out)
    if sources is not None:
        out.write("settings (command line > job file > [tool.runall] > defaults; others at their defaults):\n")
        rows = [(option, _value(value), source) for option, value, source in sources]
        widths = [max([len(r[i]) for r in rows] + [0]) for i in range(2)]
        for option, value, source in rows:
            out.write(f"  {option.ljust(widths[0])}  {value.ljust(widths[1])}  {source}\n")
        declared = [job for job in jobs if job.source == "config"]
        if declared:
            out.write("per job, from the job file (the command line wins for --timeout and --retries): "
                      + ", ".join(f"{job.id} {_job_values(job)}" for job in declared if _job_values(job)) + "\n")


def _value(value: Any) -> str:
    return " ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def _job_values(job: Job) -> str:
    values = {"timeout": job.timeout, "retries": job.retries, "cpus": job.cpus, "gpus": job.gpus,
              "memory": job.memory, "priority": job.priority or None}
    return " ".join(f"{k}={v}" for k, v in values.items() if v is not None)


def _print_table(jobs: Sequence[Job], out: TextIO) -> None:
    header = ("ID", "SCRIPT", "ROLES", "TAGS")
    rows = _rows(jobs)
    if out.isatty():
        from rich.console import Console
        from rich.table import Table

        table = Table(*header, title=f"{len(jobs)} job(s)")
        for row in rows:
            table.add_row(*row)
        Console(file=out).print(table)
        return
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        out.write("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() + "\n")
    out.write(f"{len(jobs)} job(s)\n")


def print_inspect(results: Sequence[ScriptFlags], roles: Sequence[Assignment],
                  fmt: str, out: TextIO = sys.stdout) -> None:
    """`--inspect FILE...`: what the flags stage sees in each file."""
    payload = inspect_payload(results, roles)
    if fmt == "json":
        json.dump(payload, out, indent=2)
        out.write("\n")
        return
    for script in payload["scripts"]:
        source = "" if script["source"] == "static" else f", from {script['source']} output"
        out.write(f"{script['path']}  (cli: {script['cli']}{source})\n")
        out.write(f"  options: {' '.join(script['options']) or '-'}\n")
        for name, options in script["subcommands"].items():
            out.write(f"  subcommand {name}: {' '.join(options)}\n")
        found = {r: o for r, o in script["roles"].items() if o}
        out.write("  roles: " + (" ".join(f"{r}={o}" for r, o in found.items()) or "-") + "\n")
        if script["leading"]:
            out.write(f"  runs as: {script['path']} {' '.join(script['leading'])} [options]\n")
        for note in script["notes"]:
            out.write(f"  note: {note}\n")
        for problem in script["problems"]:
            out.write(f"  problem: {problem}\n")
