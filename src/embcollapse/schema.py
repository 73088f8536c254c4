"""Typed settings from plain mappings: the one checker every configuration goes through.

:func:`from_dict` builds a dataclass from a mapping, rejecting unknown keys with the dotted
path of the key and the keys it knows, and wrong types with the value and what was expected;
:func:`check_seeds` is the one rule for seeds. Below :mod:`embcollapse.config` and
:mod:`embcollapse.chapters`, which both describe their settings as dataclasses.
"""
from __future__ import annotations

import collections.abc
import dataclasses
import types
import typing
from typing import Any, Mapping, TypeVar

from .errors import ConfigError

T = TypeVar("T")


def require(ok: bool, key: str, rule: str, value: Any) -> None:
    """Raise :class:`ConfigError` ``key must be <rule>, got <value>`` unless ``ok``."""
    if not ok:
        raise ConfigError(f"{key} must be {rule}, got {value!r}")


SEEDS_RULE = "a non-empty list of distinct integers >= 0"


def check_seeds(seeds: Any, key: str = "seeds") -> tuple[int, ...]:
    """``seeds`` as a tuple if it follows the one rule for seeds everywhere (profiles, chapter
    sections, ``--seeds``, ``-p seeds=``): :data:`SEEDS_RULE`; else :class:`ConfigError`."""
    ok = (isinstance(seeds, (list, tuple)) and len(seeds) >= 1
          and all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in seeds)
          and len(set(seeds)) == len(seeds))
    require(ok, key, SEEDS_RULE, list(seeds) if isinstance(seeds, (list, tuple)) else seeds)
    return tuple(seeds)


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def _coerce(value: Any, tp: Any, where: str) -> Any:
    """Check and convert one value to the annotated type ``tp``."""
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where} must be a mapping, got {value!r}")
        return from_dict(tp, value, where)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, where)
            except ConfigError as err:
                errors.append(str(err))
        raise ConfigError(errors[0] if errors else f"{where}: bad value {value!r}")
    if origin in (tuple, list):
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where} must be a list, got {value!r}")
        (item_tp, *_) = typing.get_args(tp) or (Any,)
        return tuple(_coerce(v, item_tp, f"{where}[{i}]") for i, v in enumerate(value))
    if origin in (collections.abc.Mapping, dict) or tp in (dict, Mapping):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where} must be a mapping, got {value!r}")
        return dict(value)
    if tp is Any:
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where} must be an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where} must be a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be a string, got {value!r}")
        return value
    raise ConfigError(f"{where}: unsupported type {_type_name(tp)}")


def from_dict(cls: type[T], values: Mapping[str, Any], where: str = "config") -> T:
    """Build dataclass ``cls`` from ``values``; unknown keys and wrong types are errors.

    Nested dataclasses may be given as mappings; keys left out take their defaults.
    """
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(unknown)}; known keys: {', '.join(sorted(known))}")
    kwargs = {k: _coerce(v, hints[k], f"{where}.{k}") for k, v in values.items()}
    try:
        return cls(**kwargs)
    except ConfigError as err:      # a value out of range, checked by the class itself
        raise ConfigError(f"{where}.{err}") from None
