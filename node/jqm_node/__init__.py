"""A standalone (database-less) JQM node: engine, REST APIs and in-memory store in one process."""

__version__ = "0.1.0"
