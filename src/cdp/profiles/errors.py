"""Bad profile configuration, importable without the engines; the CLI maps :class:`ConfigError` to exit 2."""

from __future__ import annotations

import yaml
from pydantic import ValidationError

from cdp.settings import ConfigError


class ProfilesConfigError(ConfigError):
    """A bad ``profiles.yaml``: the message names the file, the field and the reason."""


class TraitConfigError(ConfigError):
    """A bad trait file: the message names the file, the trait and the problem."""


class SaltError(ConfigError):
    """The pseudonymization salt is missing or unusable (the message never holds the salt)."""


def first_error(error: ValidationError) -> tuple[str, str]:
    """``(where, reason)`` of a validation error's first problem, phrased for one line."""
    detail = error.errors()[0]
    where = ".".join(str(part) for part in detail["loc"] if part != "[key]")
    context = detail.get("ctx") or {}
    kind = detail["type"]
    if kind == "extra_forbidden":
        reason = "unknown key"
    elif kind == "missing":
        reason = "is required"
    elif kind == "enum":
        reason = f"must be one of {context['expected']}"
    else:
        reason = str(detail["msg"]).removeprefix("Value error, ").replace("Input should be", "must be")
    return where, reason


def yaml_problem(error: yaml.YAMLError) -> str:
    """``line 3: mapping values are not allowed here``: where and what, on one line."""
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        return f"line {error.problem_mark.line + 1}: {error.problem}"
    return str(error).splitlines()[0]
