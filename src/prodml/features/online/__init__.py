"""Online stores: the latest feature row per entity key, for lookups at serving time.

Every store implements the async ``OnlineStore`` protocol in ``base`` and passes the contract
suite in ``prodml.testing.online_store_contract``. Choose one with a config's ``kind``
(``sqlite``, ``redis`` or ``memory``) through ``open_online_store``.
"""

from prodml.features.online.base import NO_CREATED, OnlineRow, OnlineStore
from prodml.features.online.config import (
    MemoryOnlineConfig,
    OnlineStoreConfig,
    RedisOnlineConfig,
    SqliteOnlineConfig,
    open_online_store,
    parse_online_config,
)

__all__ = [
    "NO_CREATED",
    "MemoryOnlineConfig",
    "OnlineRow",
    "OnlineStore",
    "OnlineStoreConfig",
    "RedisOnlineConfig",
    "SqliteOnlineConfig",
    "open_online_store",
    "parse_online_config",
]
