"""A node's configuration: its files (the YAML node configuration, job definition files in YAML or upstream
XML: :mod:`.files`) and its options (:mod:`.settings`), checked into the :class:`Settings` and
:class:`NodeConfig` a node runs with. Every problem is one :class:`ConfigError` naming where it is and what
is wrong, so that a bad ConfigMap or option tells its author exactly what to fix.
"""

from jqm_node.config.files import ConfigError, NodeConfig, load_job_definition_files, load_node_config
from jqm_node.config.settings import Options, Settings, load

__all__ = [
    "ConfigError",
    "NodeConfig",
    "Options",
    "Settings",
    "load",
    "load_job_definition_files",
    "load_node_config",
]
