"""What the flags stage learns about a script: its options (`Option`) and the whole result
(`ScriptFlags`). Plain data, cheap to import: the cache and the later stages need only this."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# How a value is given to an option: `--epochs 3` (two argv items), `--max_iters=3` (one item,
# for parsers that only split on "="), or `trainer.max_epochs=3` (a Hydra-style override).
SEPARATE, JOINED, OVERRIDE = "separate", "joined", "override"
SYNTAXES = (SEPARATE, JOINED, OVERRIDE)


@dataclass(frozen=True)
class Option:
    """One option a script accepts, with every spelling it can be given by.

    `help`, `default` and `type` are what the source says about it (None when it says
    nothing or not literally); the roles stage reads them where a spelling is unusual.
    """

    strings: tuple[str, ...]
    dest: str | None = None
    subcommand: str | None = None
    takes_value: bool = True
    help: str | None = None
    default: str | int | float | bool | None = None
    type: str | None = None
    syntax: str = SEPARATE

    @property
    def primary(self) -> str:
        """The preferred spelling: the first long (`--`) string, else the first."""
        for spelling in self.strings:
            if spelling.startswith("--"):
                return spelling
        return self.strings[0]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; fields at their default are left out (the cache holds thousands)."""
        out: dict[str, Any] = {"strings": list(self.strings)}
        for key in ("dest", "subcommand", "help", "default", "type"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if not self.takes_value:
            out["takes_value"] = False
        if self.syntax != SEPARATE:
            out["syntax"] = self.syntax
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Option":
        return cls(tuple(d["strings"]), d.get("dest"), d.get("subcommand"), bool(d.get("takes_value", True)),
                   d.get("help"), d.get("default"), d.get("type"), str(d.get("syntax", SEPARATE)))


@dataclass
class ScriptFlags:
    """What the flags stage learned about one script.

    `cli` names the framework ("argparse", "hydra", ..., "mixed" for several, "none" for a
    script without a command line, "unknown" when one exists but cannot be read). `leading`
    holds argv items the script needs before its options (LightningCLI's `fit`). `source` is
    "static" (read from the source) or "help" (parsed from `--help` output). `files` maps
    every file the result depends on to its sha256, for the cache. `notes` are facts worth
    showing (where a framework's fields were read from); `problems` what could not be seen.
    `roles` is the role assignment under the default alias table, computed once with the
    result and cached with it (None when not computed). `error` says why the source does not
    compile (a syntax error, undecodable bytes): such a script will fail when run.
    """

    path: str
    cli: str
    options: list[Option] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    leading: tuple[str, ...] = ()
    source: str = "static"
    files: dict[str, str] = field(default_factory=dict)
    roles: dict[str, str | None] | None = None
    error: str | None = None          # why Python cannot compile it: the script will fail when run

    @property
    def known(self) -> bool:
        """False when a command line exists but cannot be seen."""
        return self.cli != "unknown"

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "cli": self.cli, "known": self.known,
                "options": [o.to_dict() for o in self.options], "problems": list(self.problems),
                "notes": list(self.notes), "leading": list(self.leading), "source": self.source,
                "files": dict(self.files), "roles": self.roles, "error": self.error}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ScriptFlags":
        return cls(str(d["path"]), str(d["cli"]), [Option.from_dict(o) for o in d["options"]],
                   [str(p) for p in d.get("problems", [])], [str(n) for n in d.get("notes", [])],
                   tuple(str(a) for a in d.get("leading", ())), str(d.get("source", "static")),
                   {str(k): str(v) for k, v in d.get("files", {}).items()},
                   dict(d["roles"]) if isinstance(d.get("roles"), dict) else None,
                str(d["error"]) if d.get("error") else None)
