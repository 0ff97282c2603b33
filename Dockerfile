# Dockerfile: PostgreSQL 15 with pgmq built in and preloaded.
#   docker build -t pgmq .
#   docker run -e POSTGRES_PASSWORD=secret -p 5432:5432 pgmq
#   docker run -e POSTGRES_PASSWORD=secret pgmq -c work_mem=64MB   (pgmq stays preloaded)
# The build stage installs its packages with the script the README names
# (test/install_deps.sh build), with the server headers pinned to the image's server version,
# and builds and installs as the README says (make, make install).
# test/python/test_dockerfile.py checks this structure (there is no Docker engine in CI).
FROM postgres:15-bookworm AS build
WORKDIR /src
# Only the dependency script first: editing the sources reuses the package layer.
COPY test/lib.sh test/install_deps.sh test/
RUN test "$PG_MAJOR" = 15 \
 && PGMQ_PG_VERSION="$PG_VERSION" bash test/install_deps.sh build
COPY . .
RUN make clean && make -j2 \
 && make install DESTDIR=/out

FROM postgres:15-bookworm
COPY --from=build /out/ /
# In the configuration every new cluster starts from (initdb copies postgresql.conf.sample), so
# arguments given to `docker run` (-c ...) do not drop the preload. CREATE EXTENSION runs in
# the default database at first start.
RUN echo "shared_preload_libraries = 'pgmq'" >> /usr/share/postgresql/postgresql.conf.sample \
 && echo "CREATE EXTENSION IF NOT EXISTS pgmq;" > /docker-entrypoint-initdb.d/10-pgmq.sql
CMD ["postgres"]
