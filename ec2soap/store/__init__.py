"""The store: our SQL state (SQLite, PostgreSQL, MariaDB/MySQL), reached only through a bounded thread pool."""
from ec2soap.store.db import Store, StoreError, migrate, open_engine

__all__ = ["Store", "StoreError", "migrate", "open_engine"]
