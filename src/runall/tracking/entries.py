"""What gets recorded: params, metrics, tags and artifacts of runs, as plain data.

Pure functions of the manifest (and the files a job left behind); nothing here imports MLflow.
"""

from __future__ import annotations

import getpass
import json
import re
import shlex
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from runall.record.lineage import sha256_or_none, view

if TYPE_CHECKING:
    from runall.record.manifest import JobRecord

MAX_PARAM_VALUE = 6000      # MLflow's limits on value lengths
MAX_TAG_VALUE = 8000
RESOURCES = ("cpus", "gpus", "memory", "timeout", "retries")
# Orchestrator job states as MLflow run states.
RUN_STATUS = {"SUCCEEDED": "FINISHED", "FAILED": "FAILED", "TIMEOUT": "FAILED",
              "CANCELLED": "KILLED", "SKIPPED": "KILLED", "PREEMPTED": "KILLED"}     # keyed by JobStatus values
_BAD_KEY_CHARS = re.compile(r"[^\w\-. /:]")

Series = list[tuple[str, float, int]]     # (metric key, value, step)


def clean_key(key: str) -> str:
    """A valid MLflow key: leading dashes dropped, unsupported characters made `_`."""
    return _BAD_KEY_CHARS.sub("_", key.lstrip("-"))[:250] or "_"


def argv_options(args: Sequence[str]) -> dict[str, str]:
    """`--epochs 3 --amp --layers 2 4 --lr=0.1` -> {epochs: 3, amp: true, layers: "2 4", lr: 0.1}.

    Positional arguments before the first option are left out (the command tag has them).
    """
    values: dict[str, list[str]] = {}
    current: list[str] | None = None
    for token in args:
        if token.startswith("-") and not _is_number(token):
            name, eq, value = token.partition("=")
            current = values.setdefault(clean_key(name), [])
            if eq:
                current.append(value)
                current = None
        elif current is not None:
            current.append(token)
    return {key: " ".join(parts) if parts else "true" for key, parts in values.items()}


def job_params(record: JobRecord) -> dict[str, str]:
    """A job's params: its command-line options, its grid values / declared args, its resources,
    the environment variables set for it and its launcher (from its lineage)."""
    job = record.job
    params = argv_options(job.argv[2:])
    params.update({clean_key(k): _text(v) for k, v in job.params.items()})
    given = {"cpus": record.cpus, "gpus": len(record.gpu_ids) if record.gpu_ids is not None else None}
    for key in RESOURCES:               # declared, else what the attempt was given
        value = getattr(job, key) if getattr(job, key) is not None else given.get(key)
        if value is not None:
            params[f"resources.{key}"] = _text(value)
    settings = (record.lineage or {}).get("settings") or {}
    params.update({clean_key(f"env.{name}"): value for name, value in (settings.get("env") or {}).items()})
    params.update({f"launcher.{k}": _text(v) for k, v in (settings.get("launcher") or {}).items()})
    return {k: v[:MAX_PARAM_VALUE] for k, v in params.items()}


def run_tags(manifest: Mapping[str, Any], command: Sequence[str]) -> dict[str, str]:
    """The parent run's tags: run id, command line, git commit and dirty flag, host."""
    git, host = manifest.get("git") or {}, manifest.get("host") or {}
    return _tags({
        "runall.run_id": manifest["run_id"], "runall.command": shlex.join(command),
        "runall.root": manifest.get("root"), "runall.host": host.get("hostname"),
        "runall.git_dirty": git.get("dirty"), "mlflow.source.git.commit": git.get("commit"),
        "mlflow.source.name": command[0] if command else None, "mlflow.source.type": "LOCAL",
        "mlflow.user": _user(),
    })


def job_tags(record: JobRecord, manifest: Mapping[str, Any], root: Path) -> dict[str, str]:
    """A child run's tags: outcome (status, exit code, duration) and lineage (script and its hash,
    and where the job recorded one, its lineage hash, git diff, data, packages, host and GPUs)."""
    job = record.job
    return {**_tags({
        "runall.run_id": manifest["run_id"], "runall.job_id": record.id,
        "runall.status": record.status.value, "runall.exit_code": record.exit_code,
        "runall.signal": record.signal, "runall.reason": record.reason,
        "runall.duration_s": record.duration, "runall.attempts": record.attempts,
        "runall.command": shlex.join(job.argv), "runall.output_dir": job.output_dir,
        "runall.job_tags": ",".join(job.tags) or None,
        "runall.script": job.script, "runall.script_sha256": sha256_or_none(root / job.script),
        "mlflow.source.name": job.script, "mlflow.source.type": "LOCAL",
        "mlflow.source.git.commit": (manifest.get("git") or {}).get("commit"), "mlflow.user": _user(),
    }), **lineage_tags(record, manifest)}


def lineage_tags(record: JobRecord, manifest: Mapping[str, Any]) -> dict[str, str]:
    """The job's lineage (`record.lineage.view`) as tags; {} for a job without one."""
    lineage = view(manifest, record.lineage)
    if lineage is None:
        return {}
    code, env = lineage["code"], lineage["environment"]
    tags: dict[str, Any] = {
        "runall.lineage_hash": lineage["hash"], "runall.script_sha256": code["script_sha256"],
        "mlflow.source.git.commit": code["commit"], "runall.git_dirty": code["dirty"],
        "runall.git_diff_sha256": code["diff_sha256"], "runall.python": (env["python"] or {}).get("version"),
        "runall.freeze_sha256": env["freeze_sha256"], "runall.host": (env["host"] or {}).get("hostname"),
        "runall.gpus": ", ".join(env["gpus"] or []) or None,
        **{f"runall.package.{name}": version for name, version in (env["packages"] or {}).items()}}
    for index, item in enumerate(lineage["data"]):
        tags[f"runall.data.{index}.path"] = item["path"]
        tags[f"runall.data.{index}.sha256"] = item.get("sha256")
    return _tags(tags)


def metric_series(document: Mapping[str, Any]) -> Series:
    """Metrics of a metrics.json: `{name: {mean, std, folds}}` gives `name` (the mean),
    `name.std` and `name.folds` (one step per fold); plain numbers are logged as they are.

    With a `metrics` table (the runall schema), candidate models' metrics come as
    `models.<model>.<name>`; without one, the document's top-level numbers are the metrics.
    """
    table = document.get("metrics")
    if not isinstance(table, Mapping):
        return _series(document, "")
    series = _series(table, "")
    models = document.get("models")
    for model, entry in (models.items() if isinstance(models, Mapping) else ()):
        if isinstance(entry, Mapping) and isinstance(entry.get("metrics"), Mapping):
            series += _series(entry["metrics"], f"models.{model}.")
    return series


def document_tags(document: Mapping[str, Any]) -> dict[str, str]:
    """Scalar fields of a metrics.json that are not metrics (task, primary_metric, ...)."""
    nested = isinstance(document.get("metrics"), Mapping)
    return _tags({clean_key(k): v for k, v in document.items()
                  if isinstance(v, (str, bool, int, float)) and (nested or not _is_metric(v))})


def read_document(path: Path) -> dict[str, Any]:
    """A JSON object from `path`; {} when it is missing, unreadable or not an object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def job_files(record: JobRecord, run_dir: Path, root: Path) -> list[tuple[Path, str | None]]:
    """(file, artifact folder) for every attempt's log, and the job's metrics.json and run_config.json."""
    logs = dict.fromkeys(log for log in [*(a.log for a in record.history), record.log] if log)
    files: list[tuple[Path, str | None]] = [(run_dir / log, "logs") for log in logs]
    if record.job.output_dir:
        files += [(root / record.job.output_dir / name, None) for name in ("metrics.json", "run_config.json")]
    return [(path, folder) for path, folder in files if path.is_file()]


def epoch_ms(iso: str | None) -> int | None:
    """An ISO 8601 time from the manifest as epoch milliseconds."""
    return int(datetime.fromisoformat(iso).timestamp() * 1000) if iso else None


def _series(table: Mapping[str, Any], prefix: str) -> Series:
    series: Series = []
    for name, value in table.items():
        key = clean_key(prefix + str(name))
        if _is_metric(value):
            series.append((key, float(value), 0))
        elif isinstance(value, Mapping):
            series += [(key + suffix, float(value[field]), 0)
                       for field, suffix in (("mean", ""), ("std", ".std")) if _is_metric(value.get(field))]
            folds = value.get("folds")
            series += [(key + ".folds", float(v), step)
                       for step, v in enumerate(folds if isinstance(folds, list) else []) if _is_metric(v)]
    return series


def _is_metric(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _tags(values: Mapping[str, Any]) -> dict[str, str]:
    """Values as tag strings; None values are left out."""
    return {k: _text(v)[:MAX_TAG_VALUE] for k, v in values.items() if v is not None}


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None
