"""The process kubelet: runs the pods bound to one Node as local processes in their own namespaces."""
