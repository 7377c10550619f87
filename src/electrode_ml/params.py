"""Reading one stage's block of params.yaml, refusing unknown or ill-typed parameters."""
from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path

import yaml

from electrode_ml.errors import ElectrodeMLError, MissingInputError

DEFAULT_PARAMS = Path("params.yaml")
# Every top-level key of params.yaml: a misspelt one (`sed: 7`) must not fall back to a default.
TOP_LEVEL_KEYS = ("prepare", "featurize", "cluster", "folds", "bootstrap", "repeated_cv", "report", "models", "targets", "schemes", "seed",
                  "profile", "profiles")


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


def from_mapping(section: str, schema: type, block: dict, source: str = "params"):
    fields = {field.name: field for field in dataclasses.fields(schema)}
    unknown = sorted(set(block) - set(fields))
    if unknown:
        raise ParameterError(f"{source}: {', '.join(f'{section}.{key}' for key in unknown)} is not a parameter "
                             f"(known: {', '.join(fields)})")
    hints = typing.get_type_hints(schema)
    for key, value in block.items():
        if not _matches(value, hints[key]):
            raise ParameterError(f"{source}: {section}.{key} = {value!r} should be {_describe(hints[key])}")
    try:
        return schema(**block)
    except TypeError as error:
        raise ParameterError(f"{source}: `{section}:` block: {error}") from None


def _matches(value, hint) -> bool:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, option) for option in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if origin in (list, tuple):
        (item,) = typing.get_args(hint)[:1]
        return isinstance(value, list) and all(_matches(element, item) for element in value)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


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
