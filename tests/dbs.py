"""Throw-away databases on the PostgreSQL and MariaDB servers named by the EC2SOAP_TEST_* URLs."""
from __future__ import annotations

import uuid
from typing import Callable

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def fresh_database(base_url: str) -> tuple[str, Callable[[], None]]:
    url = make_url(base_url)
    name = f"ec2soap_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()

    def drop() -> None:
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            if url.get_backend_name() == "postgresql":
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            else:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        engine.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop
