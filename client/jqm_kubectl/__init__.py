"""``kubectl jqm``, a kubectl plugin for JqmClusters, on the :mod:`jqm_client` library (see docs/CLIENT.md)."""
