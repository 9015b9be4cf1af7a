# The ingress controller: Traefik built from the Go module proxy by cluster/build.sh (a static binary).
FROM scratch
COPY traefik /traefik
USER 65532:65532
EXPOSE 8000
ENTRYPOINT ["/traefik"]
