"""A local Kubernetes for machines without a container runtime.

A control plane built from source (etcd, kube-apiserver, kube-controller-manager, kube-scheduler) on
loopback, a process kubelet that runs pods as local processes in their own network and mount
namespaces, and a load-balancer controller for Services of type LoadBalancer.
"""
