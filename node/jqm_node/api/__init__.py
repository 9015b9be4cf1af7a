"""The node's HTTP interface: JQM's ``/ws`` APIs and the node management endpoints."""
