"""kopf handlers: thin glue from kopf's callbacks to the services. Importing this package registers them.

Handler names follow ``<kind>_<event>``; kopf uses the function name as the handler id in its progress
annotations, so renaming one restarts its progress tracking.
"""

from jqm_operator.handlers import idlimit, jqmcluster, lifecycle, workload

__all__ = ["idlimit", "jqmcluster", "lifecycle", "workload"]
