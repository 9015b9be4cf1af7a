"""What makes independent nodes one cluster: owner forwarding, peer safety, cluster-wide reads."""
