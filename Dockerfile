# Dockerfile: PostgreSQL 15 with pgmq built in and preloaded.
#   docker build -t pgmq .
#   docker run -e POSTGRES_PASSWORD=secret -p 5432:5432 pgmq
# The build stage runs the same dependency step as the README (test/install_deps.sh build)
# and the same make / make install.
FROM postgres:15-bookworm AS build
WORKDIR /src
COPY . .
RUN bash test/install_deps.sh build \
 && make clean && make -j2 \
 && make install DESTDIR=/out

FROM postgres:15-bookworm
COPY --from=build /out/ /
RUN echo "CREATE EXTENSION IF NOT EXISTS pgmq;" > /docker-entrypoint-initdb.d/10-pgmq.sql
CMD ["postgres", "-c", "shared_preload_libraries=pgmq"]
