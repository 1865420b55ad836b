"""The error hierarchy a user can meet.

The CLI turns every ``MacrofundError`` into one line on stderr and exit code 2; anything else is a bug
and keeps its traceback.
"""

from __future__ import annotations


class MacrofundError(Exception):
    """Base of every error caused by user input (config, data, paths), not by a bug."""


class ConfigError(MacrofundError):
    """A run config is malformed: the message names the file, the key and the problem."""


class DataError(MacrofundError):
    """A market-data file is missing or malformed: the message names the file and the row."""


class UnknownInstrumentError(MacrofundError):
    """An instrument id does not name a contract macrofund knows."""


class StrategyLoadError(MacrofundError):
    """A strategy or its config could not be imported or built from its path."""


class ModeUnavailableError(MacrofundError):
    """The requested run mode is not assembled yet."""


class FolderLockError(MacrofundError):
    """A folder only one process may use (a run's, a FIX session store's) is held by another running
    process, or its lock file cannot be created."""
