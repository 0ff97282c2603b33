# Makefile: PGXS build of the pgmq extension (C++17).
#   make && make install             build and install into the PostgreSQL found by pg_config
#   make test                        every suite against a throwaway cluster (see test/run_all.sh)
#   make bench                       benchmark suite (see test/bench/README.md)
EXTENSION   = pgmq
EXTVERSION  = $(shell grep default_version $(EXTENSION).control | sed -e "s/default_version[[:space:]]*=[[:space:]]*'\([^']*\)'/\1/")
MODULE_big  = pgmq
OBJS        = $(patsubst %.cpp,%.o,$(wildcard src/*.cpp src/*/*.cpp))
# The PGMQ versions whose databases ALTER EXTENSION pgmq UPDATE converts in place (sql/updates/from_pgmq.sql).
PGMQ_VERSIONS = 1.5.1 1.6.0 1.6.1 1.7.0 1.8.0 1.8.1 1.9.0 1.10.0 1.10.1 1.11.0 1.11.1 1.12.0 1.13.0 1.13.1
FROM_PGMQ   = $(foreach v,$(PGMQ_VERSIONS),sql/$(EXTENSION)--$(v)--$(EXTVERSION).sql)
DATA_built  = sql/$(EXTENSION)--$(EXTVERSION).sql $(FROM_PGMQ)
DATA        = $(filter-out $(DATA_built),$(wildcard sql/$(EXTENSION)--*--*.sql))

PG_CONFIG  ?= pg_config

# PostgreSQL's headers are system headers to us: -Wextra is for our code.
PG_CPPFLAGS += -Isrc -isystem $(shell $(PG_CONFIG) --includedir-server)
PG_CXXFLAGS += -std=c++17 -Wall -Wextra -Wshadow -Wno-register -Wno-missing-field-initializers -MMD -MP
ifeq ($(ERROR_ON_WARNING),1)
PG_CXXFLAGS += -Werror
endif
SHLIB_LINK  += -lstdc++
EXTRA_CLEAN += $(OBJS:.o=.d) tmp_regress tmp_isolation results output_iso

override with_llvm = no
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# The install script is generated from one source file.
sql/$(EXTENSION)--$(EXTVERSION).sql: sql/$(EXTENSION).sql
	cp $< $@

# Each update from PGMQ is the conversion source with the install script in place of its "-- @INSTALL@" line.
$(FROM_PGMQ): sql/updates/from_pgmq.sql sql/$(EXTENSION).sql
	awk '/^-- @INSTALL@$$/ { while ((getline line < "sql/$(EXTENSION).sql") > 0) print line; next } { print }' $< > $@

# Debian's PGXS has no automatic header dependencies.
-include $(OBJS:.o=.d)

# Core code must not see postgres.h (src/core/core_only.hpp checks it).
$(patsubst %.cpp,%.o,$(wildcard src/core/*.cpp)): CPPFLAGS += -DPGMQ_CORE_SOURCE

src/pgmq.o: CPPFLAGS += -DPGMQ_VERSION=\"$(EXTVERSION)\"

.PHONY: test bench demo
test:
	bash test/run_all.sh
bench:
	bash test/bench/run.sh
demo:
	bash test/demo.sh
