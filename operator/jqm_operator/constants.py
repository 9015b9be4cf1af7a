"""Names shared by the CRD, the builders, the handlers and the chart.

Kept in one module without dependencies so that every layer can import them and a rename happens in one
place; the CRD and chart tests check the YAML files against these values.
"""

from typing import Final

GROUP: Final = "jqm.enioka-community.io"
VERSION: Final = "v1alpha1"
API_VERSION: Final = f"{GROUP}/{VERSION}"
KIND: Final = "JqmCluster"
PLURAL: Final = "jqmclusters"

FIELD_MANAGER: Final = "jqm-operator"
"""Server-side apply field manager: the operator owns exactly the fields it renders."""

NODE_PORT: Final = 1789
# After POST /node/drain a node keeps taking jobs this long: its readiness probe (every 5 s, 2 failures)
# must fail and endpoints and load balancers catch up first, so no client is refused (JQM_DRAIN_ACCEPT_SECONDS).
DRAIN_ACCEPT_SECONDS: Final = 15
# On SIGTERM a node answers this long after its jobs are done, so clients read their jobs' final states
# rather than meeting a closed port (JQM_SHUTDOWN_LINGER); part of the pod's termination grace period.
SHUTDOWN_LINGER_SECONDS: Final = 5
NODE_PORT_NAME: Final = "http"
HEALTH_PATH: Final = "/ws/simple/localnode/health"
STATUS_PATH: Final = "/node/status"
DRAIN_PATH: Final = "/node/drain"

NODE_CONFIG_KEY: Final = "node.yaml"
CONFIG_DIR: Final = "/etc/jqm/config"
JOBDEFS_DIR: Final = "/etc/jqm/jobdefs"
WORK_DIR: Final = "/var/lib/jqm"

LABEL_NAME: Final = "app.kubernetes.io/name"
LABEL_INSTANCE: Final = "app.kubernetes.io/instance"
LABEL_COMPONENT: Final = "app.kubernetes.io/component"
LABEL_MANAGED_BY: Final = "app.kubernetes.io/managed-by"
LABEL_PART_OF: Final = "app.kubernetes.io/part-of"
NODE_APP_NAME: Final = "jqm-node"
MANAGED_BY: Final = "jqm-operator"

CONFIG_CHECKSUM_ANNOTATION: Final = f"{GROUP}/config-checksum"
"""On the pod template: a changed node configuration changes it, which rolls the pods."""

KOPF_ANNOTATION_PREFIX: Final = f"kopf.{GROUP}"
"""kopf keeps its handler progress in annotations under this prefix, never in the (strict) status."""

FINALIZER: Final = f"{GROUP}/kopf-finalizer"
"""kopf adds it because of the timers; it guards no cleanup, so removing it by hand is always safe."""

RESERVED_ENV: Final = ("JQM_NODE_IP", "JQM_NODE_NAME", "JQM_CONFIG", "JQM_JOBDEFS", "JQM_WORKDIR", "JQM_LISTEN")
"""Environment variables the operator sets and a user may not override (the CRD rejects them)."""
