"""`runall lineage [RUN_ID] JOB` (`--lineage`): what a job's model came from, for people or as JSON."""

from __future__ import annotations

import json
import shlex
import sys
from typing import Any, Mapping, TextIO


def print_lineage(run_id: str, job_id: str, lineage: Mapping[str, Any], fmt: str, out: TextIO = sys.stdout) -> None:
    """One job's lineage (`record.lineage.view`): code, data, settings, environment."""
    if fmt == "json":
        json.dump({"run_id": run_id, "job_id": job_id, **lineage}, out, indent=2)
        out.write("\n")
        return
    code, settings, env = lineage["code"], lineage["settings"], lineage["environment"]
    dirty = "" if code.get("dirty") is None else (" (dirty, diff sha256 " + str(code.get("diff_sha256")) + ")"
                                                  if code["dirty"] else " (clean)")
    lines = [f"Lineage of {job_id} in run {run_id}",
             f"  hash      {lineage['hash']}",
             f"  commit    {code.get('commit') or 'unknown (not a git repository)'}{dirty}",
             f"  script    {code['script']}  sha256 {code.get('script_sha256')}"]
    for item in lineage["data"] or [{"path": "-", "kind": "none"}]:
        lines.append(f"  data      {item['path']}  {_data(item)}")
    lines.append(f"  argv      {shlex.join(settings['argv'])}")
    lines += [f"  env       {name}={value}" for name, value in settings["env"].items()]
    if settings.get("launcher"):
        launcher = settings["launcher"]
        lines.append(f"  launcher  {launcher['name']}: {launcher['procs']} process(es) x {launcher['nodes']} node(s)")
    python, host = env.get("python") or {}, env.get("host") or {}
    packages = ", ".join(f"{name} {version or 'not installed'}" for name, version in (env.get("packages") or {}).items())
    lines += [f"  python    {python.get('version')} ({python.get('executable')})",
              f"  packages  {packages}",
              f"  freeze    sha256 {env.get('freeze_sha256')} ({env.get('distributions')} distributions)",
              f"  host      {host.get('hostname')} ({host.get('platform')})",
              f"  gpus      {', '.join(env.get('gpus') or []) or 'none'}"]
    out.write("\n".join(lines) + "\n")


def _data(item: Mapping[str, Any]) -> str:
    if item["kind"] == "file":
        return f"file, {item['size']} bytes, sha256 {item['sha256']}"
    if item["kind"] == "folder":
        return f"folder, {item['files']} files, {item['size']} bytes, sha256 {item['sha256']}"
    return item.get("error") or item["kind"]
