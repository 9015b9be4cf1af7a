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
"""The client listener: JQM's APIs and node-to-node calls; the only port a Service or Ingress exposes."""
MANAGEMENT_PORT: Final = 1790
"""The management listener (status, drain, undrain, metrics): reached by the operator and probes only."""
# After POST /node/drain a node keeps taking jobs this long: its readiness probe (every 5 s, 2 failures)
# must fail and endpoints and load balancers catch up first, so no client is refused (JQM_DRAIN_ACCEPT_SECONDS).
DRAIN_ACCEPT_SECONDS: Final = 15
# On SIGTERM a node answers this long after its jobs are done, so clients read their jobs' final states
# rather than meeting a closed port (JQM_SHUTDOWN_LINGER); part of the pod's termination grace period.
SHUTDOWN_LINGER_SECONDS: Final = 5
SLACK_SECONDS: Final = 5
"""Added to the pod's termination grace period for the process itself to exit."""
NODE_PORT_NAME: Final = "http"
MANAGEMENT_PORT_NAME: Final = "management"
HEALTH_PATH: Final = "/ws/simple/localnode/health"
STATUS_PATH: Final = "/node/status"
DRAIN_PATH: Final = "/node/drain"
UNDRAIN_PATH: Final = "/node/undrain"
SIGTERM_DRAIN_REASON: Final = "sigterm"
"""``drainReason`` of a node draining because its container got SIGTERM (pod deleted or restarted)."""

NODE_CONFIG_KEY: Final = "node.yaml"
CONFIG_DIR: Final = "/etc/jqm/config"
JOBDEFS_DIR: Final = "/etc/jqm/jobdefs"
WORK_DIR: Final = "/var/lib/jqm"
AUTH_DIR: Final = "/etc/jqm/auth"
USERS_DIR: Final = "/etc/jqm/users"
TLS_DIR: Final = "/etc/jqm/tls"

# Keys of the operator-owned Secret <cluster>-auth. Only NODE_AUTH_KEYS are mounted in node pods.
ADMIN_PASSWORD_KEY: Final = "admin-password"
USERS_KEY: Final = "users.yaml"
CLUSTER_SECRET_KEY: Final = "cluster-secret"
MANAGEMENT_TOKEN_KEY: Final = "management-token"
NODE_AUTH_KEYS: Final = (USERS_KEY, CLUSTER_SECRET_KEY, MANAGEMENT_TOKEN_KEY)
ADMIN_USER: Final = "admin"
ADMIN_ROLE: Final = "administrator"
TLS_CERT_KEY: Final = "tls.crt"
TLS_KEY_KEY: Final = "tls.key"
TLS_CA_KEY: Final = "ca.crt"
MANAGEMENT_TOKEN_HEADER: Final = "X-Jqm-Management-Token"
"""The token's header through the API server's pod proxy, which removes ``Authorization`` (see nodeapi)."""

LABEL_NAME: Final = "app.kubernetes.io/name"
LABEL_INSTANCE: Final = "app.kubernetes.io/instance"
LABEL_COMPONENT: Final = "app.kubernetes.io/component"
LABEL_MANAGED_BY: Final = "app.kubernetes.io/managed-by"
LABEL_PART_OF: Final = "app.kubernetes.io/part-of"
NODE_APP_NAME: Final = "jqm-node"
MANAGED_BY: Final = "jqm-operator"

CONFIG_CHECKSUM_ANNOTATION: Final = f"{GROUP}/config-checksum"
"""On the pod template: a changed node configuration changes it, which rolls the pods."""

DELETION_COST_ANNOTATION: Final = "controller.kubernetes.io/pod-deletion-cost"
"""On each node pod, its running + queued jobs: a ReplicaSet scaling down removes the cheapest pods first."""

KOPF_ANNOTATION_PREFIX: Final = f"kopf.{GROUP}"
"""kopf keeps its handler progress in annotations under this prefix, never in the (strict) status."""

FINALIZER: Final = f"{GROUP}/kopf-finalizer"
"""kopf adds it because of the timers; it guards no cleanup, so removing it by hand is always safe."""

RESERVED_ENV_PREFIX: Final = "JQM_"
"""Every node variable starts with it; the operator owns them all, so the CRD refuses them in ``pod.env``."""
