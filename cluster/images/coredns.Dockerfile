# Cluster DNS: CoreDNS built from the Go module proxy by cluster/build.sh (a static binary).
FROM scratch
COPY coredns /coredns
USER 65532:65532
EXPOSE 1053 1053/udp
ENTRYPOINT ["/coredns"]
