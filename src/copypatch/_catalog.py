"""The catalog tables (_pgcatalog.py), imported when compile() first reads one, not with copypatch."""

from __future__ import annotations

from typing import Any

__all__ = ["catalog"]


class _Catalog:
    """Stands for the _pgcatalog module: its first read of a table imports the module (about a
    fifth of copypatch's own import time) and keeps the table as a plain attribute."""

    def __getattr__(self, name: str) -> Any:
        from . import _pgcatalog

        value = getattr(_pgcatalog, name)
        setattr(self, name, value)
        return value


catalog: Any = _Catalog()
