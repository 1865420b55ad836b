"""Load strategy classes and their configs from ``pkg.module:Class`` or ``path/to/file.py:Class``.

Strategy authors keep their code in their own files; nothing has to be installed into the package.
A strategy file imports the modules beside it (``from my_signals import zscore``) the way a script
run with ``python my_strategies.py`` does: its folder goes to the front of ``sys.path``.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
import typing
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import msgspec
from nautilus_trader.config import StrategyConfig
from nautilus_trader.trading.strategy import Strategy

from macrofund.errors import StrategyLoadError


def _put_on_path(folder: Path) -> None:
    """Let a strategy file import its siblings, now and later (an import inside ``on_start`` too)."""
    entry = str(folder)
    if entry not in sys.path:
        sys.path.insert(0, entry)


def _load_module(spec: str, base_dir: Path | None) -> ModuleType:
    if spec.endswith(".py") or "/" in spec or "\\" in spec:
        file = Path(spec)
        if not file.is_absolute() and base_dir is not None:
            file = base_dir / file
        file = file.resolve()
        if not file.is_file():
            raise StrategyLoadError(f"strategy file not found: {file}")
        digest = hashlib.sha1(str(file).encode()).hexdigest()[:10]
        name = f"macrofund_user_{file.stem}_{digest}"
        if name in sys.modules:
            return sys.modules[name]
        module_spec = importlib.util.spec_from_file_location(name, file)
        if module_spec is None or module_spec.loader is None:
            raise StrategyLoadError(f"cannot import {file}")
        module = importlib.util.module_from_spec(module_spec)
        _put_on_path(file.parent)
        # Registered before exec so dataclass/msgspec lookups of the module by name work.
        sys.modules[name] = module
        try:
            module_spec.loader.exec_module(module)
        except Exception as exc:
            del sys.modules[name]
            raise StrategyLoadError(f"{file}: import failed: {type(exc).__name__}: {exc}") from exc
        return module
    try:
        return importlib.import_module(spec)
    except ModuleNotFoundError as exc:
        raise StrategyLoadError(f"cannot import module {spec!r}: {exc}") from None
    except Exception as exc:
        raise StrategyLoadError(f"module {spec!r}: import failed: {type(exc).__name__}: {exc}") from exc


def load_object(path: str, base_dir: Path | None = None) -> Any:
    """Resolve ``module_or_file:Name`` to the named object."""
    module_part, _, name = path.rpartition(":")
    if not module_part or not name:
        raise StrategyLoadError(f"{path!r} is not 'package.module:Class' or 'file.py:Class'")
    module = _load_module(module_part, base_dir)
    try:
        return getattr(module, name)
    except AttributeError:
        raise StrategyLoadError(f"{path!r}: {module_part} has no {name!r}") from None


def load_strategy_class(path: str, base_dir: Path | None = None) -> type[Strategy]:
    """The Strategy subclass named by ``path``."""
    obj = load_object(path, base_dir)
    if not (inspect.isclass(obj) and issubclass(obj, Strategy)):
        raise StrategyLoadError(f"{path!r} is not a nautilus_trader Strategy subclass")
    return obj


def config_class_for(strategy_cls: type[Strategy]) -> type[StrategyConfig]:
    """The config type: the ``config`` annotation of ``__init__``, else ``<Class>Config`` beside it."""
    try:
        hints = typing.get_type_hints(strategy_cls.__init__)
    except Exception:
        hints = {}
    hint = hints.get("config")
    for candidate in typing.get_args(hint) or (hint,):
        if inspect.isclass(candidate) and issubclass(candidate, StrategyConfig):
            return candidate
    module = sys.modules.get(strategy_cls.__module__)
    fallback = getattr(module, f"{strategy_cls.__name__}Config", None)
    if inspect.isclass(fallback) and issubclass(fallback, StrategyConfig):
        return fallback
    raise StrategyLoadError(
        f"cannot find the config class of {strategy_cls.__name__}: annotate __init__(self, config: "
        f"MyConfig) or set config_class in [[strategies]]"
    )


def build_strategy(
    path: str, config: dict[str, Any], config_class: str | None = None, base_dir: Path | None = None
) -> Strategy:
    """Import, configure and instantiate one strategy; config errors name the offending field."""
    strategy_cls = load_strategy_class(path, base_dir)
    if config_class is not None:
        cfg_cls = load_object(config_class, base_dir)
        if not (inspect.isclass(cfg_cls) and issubclass(cfg_cls, StrategyConfig)):
            raise StrategyLoadError(f"{config_class!r} is not a StrategyConfig subclass")
    else:
        cfg_cls = config_class_for(strategy_cls)
    try:
        strategy_config = cfg_cls.parse(msgspec.json.encode(config))
    except (msgspec.ValidationError, msgspec.DecodeError, ValueError, TypeError) as exc:
        raise StrategyLoadError(f"{path}: config: {exc}") from None
    try:
        return strategy_cls(config=strategy_config)
    except (ValueError, TypeError) as exc:
        raise StrategyLoadError(f"{path}: {exc}") from None


def add_strategies(add: Callable[[Strategy], None], strategies: list[Strategy], where: str) -> None:
    """Register each strategy with ``add`` (a trader's ``add_strategy``), in ``[[strategies]]`` order.

    Two entries with one ``order_id_tag`` (or ``strategy_id``) would share a strategy id: Nautilus
    refuses the second with a traceback; this says which entries collide and how to tell them apart.
    """
    numbers: dict[str, int] = {}
    for number, strategy in enumerate(strategies, start=1):
        try:
            add(strategy)
        except RuntimeError as exc:
            if "Already registered a strategy" not in str(exc):
                raise
            first = numbers.get(strategy.id.value)
            taken = f"[[strategies]] #{first}" if first is not None else "another strategy"
            raise StrategyLoadError(
                f"{where}: [[strategies]] #{number} ({type(strategy).__name__}): strategy id "
                f"{strategy.id.value} is already {taken}'s; give each entry its own order_id_tag (or "
                "strategy_id) in [strategies.config]"
            ) from None
        numbers[strategy.id.value] = number
