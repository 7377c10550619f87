"""Reading one stage's block of params.yaml, refusing unknown or ill-typed parameters.

A block is a pydantic dataclass (`@parameters`): pydantic refuses unknown keys and, in strict
mode, values of the wrong type ("5" for 5, true for 1); here its errors become one line in
params.yaml's terms (`cluster.eps = 'x' should be float`). Range checks live in each block's
`__post_init__`.
"""
from __future__ import annotations

import dataclasses
import typing
from pathlib import Path

import yaml
from pydantic import ConfigDict, ValidationError
from pydantic.dataclasses import dataclass as pydantic_dataclass

from electrode_ml.errors import ElectrodeMLError, MissingInputError

DEFAULT_PARAMS = Path("params.yaml")
# Every top-level key of params.yaml: a misspelt one (`sed: 7`) must not fall back to a default.
TOP_LEVEL_KEYS = ("prepare", "featurize", "cluster", "folds", "bootstrap", "repeated_cv", "trust", "candidates", "screen", "discovery", "report", "models", "targets",
                  "schemes", "seed", "profile", "profiles", "compute")


class ParameterError(ElectrodeMLError, ValueError):
    """A parameter in params.yaml that is unknown, missing or of the wrong type."""


def read_params(path: str | Path = DEFAULT_PARAMS) -> dict:
    """The whole parameter file, refusing top-level keys that are not parameters."""
    path = Path(path)
    if not path.exists():
        raise MissingInputError(f"{path} does not exist")
    try:
        with open(path) as handle:
            params = yaml.safe_load(handle) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise ParameterError(f"{path}: not readable as YAML ({error})") from None
    if not isinstance(params, dict):
        raise ParameterError(f"{path}: expected a mapping of parameters, found {type(params).__name__}")
    unknown = sorted(set(params) - set(TOP_LEVEL_KEYS))
    if unknown:
        raise ParameterError(f"{path}: {', '.join(map(str, unknown))} is not a parameter (known: {', '.join(TOP_LEVEL_KEYS)})")
    return params


def load_section(section: str, schema: type, path: str | Path = DEFAULT_PARAMS):
    """Build the dataclass `schema` from `section` of the YAML file at `path`."""
    path = Path(path)
    params = read_params(path)
    block = params.get(section)
    if not isinstance(block, dict):
        raise ParameterError(f"{path}: no `{section}:` block")
    return from_mapping(section, schema, block, source=str(path))


def parameters(schema: type) -> type:
    """Class decorator of a params block: frozen, unknown keys and wrong types refused."""
    return pydantic_dataclass(frozen=True, config=ConfigDict(extra="forbid", strict=True))(schema)


def from_mapping(section: str, schema: type, block: dict, source: str = "params"):
    try:
        return schema(**block)
    except ValidationError as error:
        problems = [_problem(section, schema, block, detail) for detail in error.errors()]
        raise ParameterError(f"{source}: {'; '.join(problems)}") from None


def _problem(section: str, schema: type, block: dict, detail: dict) -> str:
    if not detail["loc"]:  # the block's own __post_init__ check, already in params.yaml's terms
        return str(detail["ctx"]["error"])
    key = detail["loc"][0]
    if detail["type"] == "unexpected_keyword_argument":
        known = ", ".join(field.name for field in dataclasses.fields(schema))
        return f"{section}.{key} is not a parameter (known: {known})"
    hint = typing.get_type_hints(schema)[key]
    return f"{section}.{key} = {block[key]!r} should be {_describe(hint)}"


def _describe(hint) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


def active_profile(path: str | Path = DEFAULT_PARAMS) -> tuple[str, dict]:
    """The `profile` named in params.yaml and its block of `profiles`."""
    path = Path(path)
    params = read_params(path)
    name = params.get("profile")
    profiles = params.get("profiles") or {}
    if name not in profiles:
        raise ParameterError(f"{path}: profile {name!r} is not one of the `profiles:` blocks {sorted(profiles)}")
    return name, {**profiles[name], "seed": params.get("seed", 42)}


def model_hyperparameters(model: str, path: str | Path = DEFAULT_PARAMS) -> dict:
    """Hyperparameters of `model` in the active profile, with the global seed as `random_state`."""
    name, profile = active_profile(path)
    block = profile.get(model)
    if block is None:
        raise ParameterError(f"{path}: profiles.{name} has no `{model}:` block")
    return {**block, "random_state": profile["seed"]}


def pipeline_matrix(path: str | Path = DEFAULT_PARAMS) -> tuple[list[str], list[str], list[str]]:
    """The `models`, `targets` and `schemes` lists that the cv, bootstrap and train stages run over."""
    path = Path(path)
    params = read_params(path)
    lists = []
    for key in ("models", "targets", "schemes"):
        value = params.get(key)
        if not isinstance(value, list) or not value:
            raise ParameterError(f"{path}: `{key}` must be a non-empty list")
        lists.append(value)
    return tuple(lists)


def profile_block(profile: str, model: str, path: str | Path = DEFAULT_PARAMS) -> dict:
    """One model's hyperparameters in a named profile, whichever profile is active."""
    profiles = read_params(path).get("profiles") or {}
    if model not in profiles.get(profile, {}):
        raise ParameterError(f"{path}: no profiles.{profile}.{model} block")
    return dict(profiles[profile][model])
