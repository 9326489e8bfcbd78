"""Evaluate the state machine's JSONata expressions with JSONata 2.0.6, the version Step Functions implements.

The reference implementation is the npm package ``jsonata`` (pinned in package.json, installed by ``make
setup``), run by Node, which the CDK CLI needs anyway. Step Functions binds ``$states`` (``input``,
``context``, ``result``, ``errorOutput``) and the workflow variables, and adds a few functions of its own; of
those the definition uses ``$hash(value, algorithm)`` (hex digest, as ``States.Hash``), which is registered
here. One Node process evaluates a whole batch.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
_EXPRESSION = re.compile(r"^\{%(.*)%\}$", re.DOTALL)

_SCRIPT = r"""
const jsonata = require('jsonata');
const crypto = require('crypto');
const ALGORITHMS = {
  'MD5': 'md5', 'SHA-1': 'sha1', 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512'
};
let text = '';
process.stdin.on('data', chunk => { text += chunk; });
process.stdin.on('end', async () => {
  const results = [];
  for (const item of JSON.parse(text)) {
    try {
      const expression = jsonata(item.expression);
      const hash = (value, algorithm) => crypto.createHash(ALGORITHMS[algorithm]).update(value).digest('hex');
      expression.registerFunction('hash', hash, '<ss:s>');
      const value = await expression.evaluate({}, item.bindings);
      results.push(value === undefined ? {undefined: true} : {value: value});
    } catch (error) {
      results.push({error: String(error.message || error)});
    }
  }
  process.stdout.write(JSON.stringify(results));
});
"""


class JsonataError(AssertionError):
    """The expression did not evaluate (what Step Functions reports as States.QueryEvaluationError)."""


class Undefined:
    """An expression that evaluated to nothing (Step Functions refuses such a field value)."""

    def __repr__(self) -> str:
        return "Undefined"


UNDEFINED = Undefined()


def expression_of(field: str) -> str:
    """The JSONata text of an ASL field value ``{% … %}``."""
    match = _EXPRESSION.match(field)
    assert match, f"not a JSONata expression: {field!r}"
    return match.group(1).strip()


def evaluate_many(cases: Sequence[tuple[str, Mapping[str, Any]]]) -> list[Any]:
    """``(field, bindings)`` → each value (``UNDEFINED`` when it is undefined); raises on the first error.

    ``bindings`` are the variables: ``states`` (``{"input": …, "context": …}``) and the workflow variables.
    """
    node = shutil.which("node")
    assert node, "node is not on PATH: install Node.js and run `make setup`"
    assert (ROOT / "node_modules" / "jsonata").is_dir(), "node_modules/jsonata is missing: run `make setup`"
    payload = [{"expression": expression_of(field), "bindings": dict(bindings)} for field, bindings in cases]
    result = subprocess.run(
        [node, "-e", _SCRIPT], input=json.dumps(payload), capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert result.returncode == 0, result.stderr
    values: list[Any] = []
    for (field, _), outcome in zip(cases, json.loads(result.stdout), strict=True):
        if "error" in outcome:
            raise JsonataError(f"{field}: {outcome['error']}")
        values.append(UNDEFINED if outcome.get("undefined") else outcome["value"])
    return values


def evaluate(field: str, **bindings: Any) -> Any:
    [value] = evaluate_many([(field, bindings)])
    return value
