# The pod sandbox image: Kubernetes' own pause.c (build/pause/linux), compiled by cluster/build.sh.
FROM scratch
COPY pause /pause
USER 65535:65535
ENTRYPOINT ["/pause"]
