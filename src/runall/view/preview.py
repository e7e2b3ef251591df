"""Preview: `--list`, `--dry-run` and `--inspect`, as text for people and JSON for tools."""

from __future__ import annotations

import json
import sys
from typing import Any, Sequence, TextIO

from runall.model import Job
from runall.plan.flags.analyser import ScriptFlags

ROLE_COLUMNS = ("epochs", "folds", "output_dir")


def list_payload(jobs: Sequence[Job]) -> dict[str, Any]:
    """The stable JSON shape of `--list --format json`."""
    return {"jobs": [{
        "id": job.id, "name": job.name, "script": job.script, "options": job.options,
        "roles": job.roles, "flags_known": job.flags_known, "argv": job.argv,
        "tags": job.tags, "source": job.source,
    } for job in jobs]}


def inspect_payload(results: Sequence[ScriptFlags], roles: Sequence[dict[str, str | None]]) -> dict[str, Any]:
    """The stable JSON shape of `--inspect --format json`."""
    scripts = []
    for flags, script_roles in zip(results, roles):
        subcommands: dict[str, list[str]] = {}
        for option in flags.options:
            if option.subcommand:
                subcommands.setdefault(option.subcommand, []).extend(option.strings)
        scripts.append({
            "path": flags.path, "cli": flags.cli,
            "options": [s for o in flags.options if not o.subcommand for s in o.strings],
            "subcommands": subcommands, "roles": script_roles, "problems": flags.problems,
        })
    return {"scripts": scripts}


def _role_cell(job: Job) -> str:
    if not job.flags_known:
        return "flags: unknown"
    found = [f"{role}={job.roles[role]}" for role in ROLE_COLUMNS if job.roles.get(role)]
    return " ".join(found) or "-"


def _rows(jobs: Sequence[Job]) -> list[tuple[str, ...]]:
    return [(job.id, job.script, _role_cell(job), ",".join(job.tags)) for job in jobs]


Sources = Sequence[tuple[str, Any, str]]      # (option, value, where it came from)


def print_list(jobs: Sequence[Job], fmt: str, sources: Sources | None = None, out: TextIO = sys.stdout) -> None:
    """`--list`: a rich table on a terminal, aligned plain text otherwise, or JSON; with
    `sources` (`-v`), each setting not at its default and where its value came from."""
    if fmt == "json":
        payload = list_payload(jobs)
        if sources is not None:
            payload["settings"] = [{"option": o, "value": v, "source": w} for o, v, w in sources]
        json.dump(payload, out, indent=2, default=str)
        out.write("\n")
        return
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


def print_inspect(results: Sequence[ScriptFlags], roles: Sequence[dict[str, str | None]],
                  fmt: str, out: TextIO = sys.stdout) -> None:
    """`--inspect FILE...`: what the flags stage sees in each file."""
    payload = inspect_payload(results, roles)
    if fmt == "json":
        json.dump(payload, out, indent=2)
        out.write("\n")
        return
    for script in payload["scripts"]:
        out.write(f"{script['path']}  (cli: {script['cli']})\n")
        out.write(f"  options: {' '.join(script['options']) or '-'}\n")
        for name, options in script["subcommands"].items():
            out.write(f"  subcommand {name}: {' '.join(options)}\n")
        found = {r: o for r, o in script["roles"].items() if o}
        out.write("  roles: " + (" ".join(f"{r}={o}" for r, o in found.items()) or "-") + "\n")
        for problem in script["problems"]:
            out.write(f"  problem: {problem}\n")
