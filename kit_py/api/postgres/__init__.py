"""Sessions in PostgreSQL (`PostgresStore`), for services whose workers on many machines share one
history. Needs psycopg 3 and its pool: `pip install 'kit-py[postgres]'`."""

try:
    import psycopg  # noqa: F401
    import psycopg_pool  # noqa: F401
except ImportError as exc:
    raise ImportError(
        f"PostgresStore needs psycopg 3 and psycopg-pool ({exc.name} is missing): "
        "pip install 'kit-py[postgres]'"
    ) from exc

from kit_py.api.postgres.store import ENV_URL, PostgresStore, describe

__all__ = ["ENV_URL", "PostgresStore", "describe"]
