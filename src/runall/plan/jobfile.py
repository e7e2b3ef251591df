"""The job file (`runall.yaml`): declared jobs, validated with the file, line and key of each error."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from runall.errors import UsageError
from runall.model import LAUNCHERS
from runall.plan.flags.roles import ROLES

if TYPE_CHECKING:
    import yaml


@dataclass
class Declared:
    """One validated job entry; `fields` holds only the keys the file set."""

    script: str                                   # relative to the root, POSIX style
    source: str = ""                              # the job file it came from
    fields: dict[str, Any] = field(default_factory=dict)
    line: int = 0


_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B?|B)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "B": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def parse_memory(value: Any) -> int:
    """`4G`, `512MiB`, `1.5g` or a byte count -> bytes."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    match = _MEMORY.match(str(value))
    if not match:
        raise ValueError(f"not a memory size: {value!r} (use e.g. 512M or 4G)")
    unit = (match.group(2) or "").upper()[:1]
    return int(float(match.group(1)) * _UNITS[unit])


def _str_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise ValueError("must be a string or a list of strings")


def _mapping(check: Callable[[Any], bool], what: str) -> Callable[[Any], dict]:
    def convert(value: Any) -> dict:
        if not isinstance(value, dict) or not all(isinstance(k, str) and check(v) for k, v in value.items()):
            raise ValueError(f"must be a mapping of {what}")
        return dict(value)
    return convert


def _number(kind: type, minimum: float) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float) if kind is float else int) or value < minimum:
            raise ValueError(f"must be {'a number' if kind is float else 'an integer'} >= {minimum}")
        return kind(value)
    return convert


def _resources(value: Any) -> dict:
    """Custom resources by name (`{a100: 1}`); cpus, gpus and memory have keys of their own."""
    result = _mapping(lambda v: not isinstance(v, bool) and isinstance(v, (int, float)) and v > 0,
                      "resource name to a number above 0")(value)
    builtin = sorted(set(result) & {"CPU", "GPU", "memory", "cpus", "gpus"})
    if builtin:
        raise ValueError(f"{builtin[0]!r} is not a custom resource (use the cpus, gpus and memory keys)")
    return result


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def _scalar(value: Any) -> bool:
    """A value an option can take: a number, a string without NUL, true/false, null, or a list of those."""
    if isinstance(value, list):
        return all(_scalar(v) and not isinstance(v, (list, bool)) and v is not None for v in value)
    return isinstance(value, (int, float, bool)) or value is None or (isinstance(value, str) and "\0" not in value)


# An option a job file names: `lr`, `--lr`, `-b`, `trainer.max_epochs`; never `=`, spaces or NUL.
OPTION_NAME = re.compile(r"-{0,2}[A-Za-z_][A-Za-z0-9_.\-]*")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _options(check: Callable[[Any], bool], what: str) -> Callable[[Any], dict]:
    """A mapping from option names (checked) to values (checked by `check`)."""
    mapping = _mapping(check, what)

    def convert(value: Any) -> dict:
        result = mapping(value)
        bad = next((k for k in result if not OPTION_NAME.fullmatch(k)), None)
        if bad is not None:
            raise ValueError(f"{bad!r} is not an option name (letters, digits, '_', '-', '.'; no '=' or spaces)")
        return result
    return convert


def _env(value: Any) -> dict[str, str]:
    result = _mapping(lambda x: isinstance(x, (str, int, float)) and not isinstance(x, bool)
                      and "\0" not in str(x), "name to a value without NUL")(value)
    bad = next((k for k in result if not ENV_NAME.fullmatch(k)), None)
    if bad is not None:
        raise ValueError(f"{bad!r} is not a variable name (letters, digits and '_', not starting with a digit)")
    return {k: str(x) for k, x in result.items()}


_OVERRIDE_KEY = re.compile(r"[A-Za-z_][\w.\-/@]*")


def _flags(value: Any) -> dict:
    result = _mapping(lambda v: isinstance(v, str) and (v.startswith("-") or bool(_OVERRIDE_KEY.fullmatch(v))),
                      "role to option string (--epochs) or override key (trainer.max_epochs)")(value)
    unknown = sorted(set(result) - set(ROLES))
    if unknown:
        raise ValueError(f"unknown role {unknown[0]!r} (roles: {', '.join(ROLES)})")
    return result


def _args(value: Any) -> dict | list:
    """Options (a mapping of option to value) or positional arguments (a list)."""
    if isinstance(value, list):
        if not all(_scalar(v) and not isinstance(v, (bool, list)) and v is not None for v in value):
            raise ValueError("as a list (positional arguments), must hold strings or numbers")
        return list(value)
    return _options(_scalar, "option to a value, or a list of positional arguments")(value)


def _overrides(value: Any) -> list:
    """Hydra-style `key=value` items, appended to the command as they are."""
    items = _str_list(value)
    for item in items:
        if "\0" in item:
            raise ValueError(f"{item!r} holds a NUL character")
        key, sep, _ = item.partition("=")
        if not sep or not _OVERRIDE_KEY.fullmatch(key.lstrip("+~")):
            raise ValueError(f"{item!r} is not an override of the form key=value (e.g. trainer.max_epochs=3)")
    return items


def _grid(value: Any) -> dict:
    result = _options(lambda v: isinstance(v, list) and v and all(_scalar(x) for x in v),
                      "option to a non-empty list")(value)
    if not result:
        raise ValueError("must name at least one option")
    return result


def _id(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[\w.\-]+", value):
        raise ValueError("must be a word of letters, digits, '_', '-' or '.'")
    return value


def _launcher(value: Any) -> str:
    if value not in (*LAUNCHERS, "none"):
        raise ValueError(f"must be one of {', '.join(LAUNCHERS)} or none, got {value!r}")
    return str(value)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a string")
    return value


FIELDS: dict[str, Callable[[Any], Any]] = {
    "id": _id,
    "name": _text,
    "args": _args,
    "overrides": _overrides,
    "env": _env,
    "cpus": _number(int, 1),
    "gpus": _number(int, 0),
    "memory": parse_memory,
    "resources": _resources,
    "timeout": _number(float, 0.001),
    "retries": _number(int, 0),
    "priority": _number(int, -10**6),
    "required": _bool,
    "tags": _str_list,
    "after": _str_list,
    "flags": _flags,
    "grid": _grid,
    "launcher": _launcher,
    "procs": _number(int, 1),
    "nodes": _number(int, 1),
}


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _pairs(node: yaml.Node, where: str) -> list[tuple[str, yaml.Node, yaml.Node]]:
    import yaml

    if not isinstance(node, yaml.MappingNode):
        raise UsageError("expected a mapping", where=f"{where}:{_line(node)}")
    return [(str(k.value), k, v) for k, v in node.value]


def _entry(path: Path, root: Path, node: yaml.Node, data: Any, index: int) -> Declared:
    where = f"{path}:{_line(node)}: jobs[{index}]"
    pairs = _pairs(node, f"{path}")
    keys = {key for key, _, _ in pairs}
    if "script" not in keys:
        raise UsageError("missing required key 'script'", where=where)
    declared = Declared(script="", source=str(path), line=_line(node))
    for key, key_node, value_node in pairs:
        here = f"{path}:{_line(key_node)}: jobs[{index}].{key}"
        value = data[key]
        if key == "script":
            declared.script = _script(value, root, here)
            continue
        if key not in FIELDS:
            raise UsageError(f"unknown key '{key}' (known: script, {', '.join(FIELDS)})", where=here)
        try:
            declared.fields[key] = FIELDS[key](value)
        except ValueError as exc:
            raise UsageError(str(exc), where=here) from None
    procs, gpus = declared.fields.get("procs"), declared.fields.get("gpus")
    if procs and gpus and procs != gpus:
        raise UsageError(f"procs={procs} but gpus={gpus}: a job with GPUs runs one process per GPU", where=where)
    return declared


def _script(value: Any, root: Path, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise UsageError("must be a path to a Python file", where=where)
    resolved = (root / value).resolve()
    if root not in resolved.parents:
        raise UsageError(f"script {value!r} is outside the repository root {root}", where=where)
    if not resolved.is_file():
        raise UsageError(f"script {value!r} does not exist", where=where)
    return resolved.relative_to(root).as_posix()


def load_jobfile(path: Path, root: Path) -> list[Declared]:
    """The declared jobs of `path` (relative paths resolved against `root`); [] if absent."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read job file ({exc})", where=str(path)) from None
    import yaml  # only when a job file exists: keeps start-up fast

    try:
        document = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise UsageError(f"invalid YAML: {getattr(exc, 'problem', exc)}", where=where) from None
    if document is None:
        return []
    declared: list[Declared] = []
    for key, key_node, value_node in _pairs(document, str(path)):
        if key != "jobs":
            raise UsageError(f"unknown top-level key '{key}' (known: jobs)", where=f"{path}:{_line(key_node)}")
        if not isinstance(value_node, yaml.SequenceNode):
            raise UsageError("'jobs' must be a list", where=f"{path}:{_line(value_node)}")
        declared += [_entry(path, root, item, data["jobs"][i], i) for i, item in enumerate(value_node.value)]
    return declared
