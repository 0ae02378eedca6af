"""numpy, imported on first use rather than by `import copypatch`.

numpy is most of `import copypatch`'s time (35-100 ms of it here), and compiling an expression
over a schema of dtype names needs it only when a table or a plan image is touched. A module that
uses numpy binds ``np = lazy_numpy(__name__)``: a stand-in whose first attribute read imports
numpy (under the interpreter's import lock, so threads racing here import it once) and rebinds
``np`` in every module that asked for it to numpy itself, so from then on ``np.x`` costs what it
always did. Type checkers see a plain ``import numpy as np`` (``if TYPE_CHECKING``).
"""

from __future__ import annotations

import sys
from typing import Any

_USERS: list[str] = []


class _Numpy:
    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        import numpy

        for user in _USERS:
            module = sys.modules.get(user)
            if module is not None and getattr(module, "np", None) is _NUMPY:
                setattr(module, "np", numpy)  # noqa: B010 (a module attribute mypy cannot see)
        return getattr(numpy, name)

    def __repr__(self) -> str:
        return "<numpy, imported on first use>"


_NUMPY = _Numpy()


def lazy_numpy(module: str) -> Any:
    """numpy for `module` (its __name__), which binds the result as ``np``."""
    if "numpy" in sys.modules:
        return sys.modules["numpy"]
    _USERS.append(module)
    return _NUMPY
