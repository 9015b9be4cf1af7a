"""A kopf operator that runs JQM clusters of database-less ("DB-less", upstream's "standalone") nodes.

Vocabulary used throughout the package, so that two unrelated meanings of "standalone" never meet:

* *DB-less* is JQM's mode where every node keeps its own in-memory store;
* *unpeered* is kopf's ``--standalone`` flag: an operator instance that ignores peering.
"""
