"""Alembic environment: the engine comes from ec2soap.store.db.migrate, never from a URL in a file."""
from alembic import context

from ec2soap.store.tables import metadata

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    context.run_migrations()
