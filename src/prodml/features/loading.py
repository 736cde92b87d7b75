"""Reading definitions from a Python file (``prodml features apply -f defs.py``).

The file is run as a module; every Entity, FeatureView, OnDemandFeatureView and FeatureService
at its top level is a definition. Running it is running the user's own code, as ``python
defs.py`` would.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from prodml.errors import ConfigError
from prodml.features.catalog import Definition
from prodml.features.definitions import Entity, FeatureService, FeatureView
from prodml.features.on_demand import OnDemandFeatureView

_KINDS = (Entity, FeatureView, OnDemandFeatureView, FeatureService)


def load_definitions(path: Path) -> list[Definition]:
    """The definitions declared at the top level of the Python file ``path``.

    Raises:
        ConfigError: the file is missing, fails to run (the message names the error), or
            declares nothing.
    """
    if not path.is_file():
        raise ConfigError(f"definitions file {str(path)!r} does not exist")
    name = f"_prodml_definitions_{abs(hash(path.resolve()))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"definitions file {str(path)!r} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    # Registered while running so dataclasses and decorators in the file can find the module.
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    except Exception as exc:
        raise ConfigError(
            f"{path}: running the definitions failed: {type(exc).__name__}: {exc}"
        ) from exc
    finally:
        sys.modules.pop(name, None)
    found: list[Definition] = []
    seen: set[int] = set()
    for value in vars(module).values():
        if isinstance(value, _KINDS) and id(value) not in seen:
            seen.add(id(value))
            found.append(value)
    if not found:
        raise ConfigError(
            f"{path} declares no feature definitions; define Entity, FeatureView, "
            "OnDemandFeatureView or FeatureService objects at the top level"
        )
    return found
