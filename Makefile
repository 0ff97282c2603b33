# Makefile: PGXS build of the pgmq extension (C++17).
#   make && make install             build and install into the PostgreSQL found by pg_config
#   make installcheck                regress and isolation suites against an installed, running server
#                                    (PGHOST/PGPORT/PGUSER; the server needs test/pgmq.conf's settings)
#   make test                        every suite against a throwaway cluster (see test/run_all.sh)
#   make bench                       benchmark suite (see test/bench/README.md)
#   make core-test                   unit tests of the pure C++ core under ASan/UBSan (test/core/run.sh)
#   make ASSERTS=1                   with -DUSE_ASSERT_CHECKING, for the installed release server:
#                                    Assert() in our code and in PostgreSQL's inline code calls
#                                    ExceptionalCondition, which release servers export too. In the
#                                    PG 15 headers it only turns Assert()s on and adds a member to
#                                    MemoryContextMethods (which we never touch): no struct we use
#                                    changes and no other server symbol is needed. test/run_all.sh's
#                                    private installation is built so; make install and make bench
#                                    are not.
#   make -C DIR -f $PWD/Makefile [VPATH=$PWD]
#                                    build in DIR instead of the checkout (Debian's pg_buildext does;
#                                    test/lib.sh does, in build/asserts/ with ASSERTS=1)
EXTENSION   = pgmq
MODULE_big  = pgmq
# Source paths are under $(srcdir), which PGXS sets: the Makefile's directory, or VPATH.
EXTVERSION  = $(shell sed -n "s/^default_version[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" $(srcdir)/$(EXTENSION).control)
OBJS        = $(patsubst $(srcdir)/%.cpp,%.o,$(wildcard $(srcdir)/src/*.cpp $(srcdir)/src/*/*.cpp))

# Versions and update scripts (pgmq's own version line, ordered after PGMQ's):
# * sql/pgmq.sql is the one source of the current version: it is copied to sql/pgmq--$(EXTVERSION).sql.
# * sql/updates/<from>--$(EXTVERSION).sql is a hand-written delta: what changed in tables, types,
#   views and triggers since <from>, and a DROP of every function whose signature, return type or
#   argument names changed or that is gone. The Makefile builds sql/pgmq--<from>--$(EXTVERSION).sql
#   from it and a replay of every function of sql/pgmq.sql as CREATE OR REPLACE (sql/updates/replay.awk),
#   so a function added or changed in sql/pgmq.sql reaches every update script by itself.
#   The deltas from PGMQ's versions (pgmq--1.5.1--2.0.0.sql ... pgmq--1.13.1--2.0.0.sql) go there too.
# * Committed sql/pgmq--*.sql files are frozen releases: install scripts of older versions
#   (sql/pgmq--1.0.0.sql, kept for CREATE EXTENSION ... VERSION and the update test) and update
#   scripts of earlier releases (installed as they are).
# To release the next version N: freeze the built sql/pgmq--$(EXTVERSION).sql and every built
# sql/pgmq--*--$(EXTVERSION).sql (git add them; remove their sql/updates/ deltas and their lines in
# .gitignore), set default_version = 'N' in pgmq.control and META.json, write
# sql/updates/$(EXTVERSION)--N.sql, and let the update test (test/python/test_versions.py) start from
# $(EXTVERSION) as well. PostgreSQL chains the scripts (1.0.0 -> 2.0.0 -> N).
UPDATE_DELTAS = $(wildcard $(srcdir)/sql/updates/*--$(EXTVERSION).sql)
UPDATES_built = $(patsubst $(srcdir)/sql/updates/%.sql,sql/$(EXTENSION)--%.sql,$(UPDATE_DELTAS))
# The PGMQ versions whose databases ALTER EXTENSION pgmq UPDATE converts in place (sql/updates/from_pgmq.sql).
PGMQ_VERSIONS = 1.5.1 1.6.0 1.6.1 1.7.0 1.8.0 1.8.1 1.9.0 1.10.0 1.10.1 1.11.0 1.11.1 1.12.0 1.13.0 1.13.1
FROM_PGMQ   = $(foreach v,$(PGMQ_VERSIONS),sql/$(EXTENSION)--$(v)--$(EXTVERSION).sql)
DATA_built  = sql/$(EXTENSION)--$(EXTVERSION).sql $(UPDATES_built) $(FROM_PGMQ)
DATA        = $(filter-out $(DATA_built),$(patsubst $(srcdir)/%,%,$(wildcard $(srcdir)/sql/$(EXTENSION)--*.sql)))

# make installcheck: every sql/*.sql but the extension scripts, every isolation spec.
REGRESS     = $(sort $(patsubst $(srcdir)/sql/%.sql,%,$(filter-out $(srcdir)/sql/$(EXTENSION)%,$(wildcard $(srcdir)/sql/*.sql))))
REGRESS_OPTS = --load-extension=$(EXTENSION)
ISOLATION   = $(sort $(patsubst $(srcdir)/test/specs/%.spec,%,$(wildcard $(srcdir)/test/specs/*.spec)))
ISOLATION_OPTS = --inputdir=$(srcdir)/test --load-extension=$(EXTENSION)

PG_CONFIG  ?= pg_config

# PostgreSQL's headers are system headers to us: -Wextra is for our code.
PG_CPPFLAGS += -I$(srcdir)/src -isystem $(shell $(PG_CONFIG) --includedir-server)
PG_CXXFLAGS += -std=c++17 -Wall -Wextra -Wshadow -Wno-register -Wno-missing-field-initializers -MMD -MP
ifeq ($(ERROR_ON_WARNING),1)
PG_CXXFLAGS += -Werror
endif
ifeq ($(ASSERTS),1)
PG_CPPFLAGS += -DUSE_ASSERT_CHECKING
endif
SHLIB_LINK  += -lstdc++
EXTRA_CLEAN += $(OBJS:.o=.d) build-flags tmp_regress tmp_isolation results output_iso

override with_llvm = no
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# A VPATH build writes its objects and scripts into src/... and sql/ of the build directory.
$(shell mkdir -p $(sort $(dir $(OBJS)) sql))

# The install script is generated from one source file.
sql/$(EXTENSION)--$(EXTVERSION).sql: sql/$(EXTENSION).sql
	cp $< $@

# An update script: the psql guard, the delta, the replay of every function of the install script.
sql/$(EXTENSION)--%--$(EXTVERSION).sql: sql/updates/%--$(EXTVERSION).sql sql/$(EXTENSION).sql sql/updates/replay.awk
	{ printf '%s\n' '-- Generated by the Makefile from sql/updates/$(notdir $<) and sql/$(EXTENSION).sql: edit those.' \
	    '\echo Use "ALTER EXTENSION $(EXTENSION) UPDATE" to load this file. \quit' ''; \
	  cat $<; \
	  awk -f $(word 3,$^) $(word 2,$^); } > $@.tmp && mv $@.tmp $@

# Each update from PGMQ is the conversion source with the install script in place of its "-- @INSTALL@" line.
$(FROM_PGMQ): sql/updates/from_pgmq.sql sql/$(EXTENSION).sql
	awk -v install=$(word 2,$^) '/^-- @INSTALL@$$/ { while ((getline line < install) > 0) print line; next } { print }' $< > $@

# Debian's PGXS has no automatic header dependencies.
-include $(OBJS:.o=.d)

# Objects remember how they were built: switching ASSERTS rebuilds them all (so a plain
# make install after make ASSERTS=1 never installs assertion-enabled code).
build-flags: FORCE
	@echo 'ASSERTS=$(ASSERTS)' | cmp -s - $@ || echo 'ASSERTS=$(ASSERTS)' >$@
$(OBJS): build-flags

# A build in another directory (make -C DIR -f /path/to/Makefile) looks only for sources in
# the checkout, never for the objects or install script a build there left behind, and
# writes into sub-directories of DIR that must exist.
ifneq ($(srcdir),.)
override srcdir := $(srcdir)
override VPATH :=
vpath %.cpp $(srcdir)
vpath %.hpp $(srcdir)
vpath $(EXTENSION).control $(srcdir)
vpath sql/$(EXTENSION).sql $(srcdir)
vpath sql/updates/% $(srcdir)
$(shell mkdir -p $(sort $(dir $(OBJS) $(DATA_built))))
endif

# Core code must not see postgres.h (src/core/core_only.hpp checks it).
$(filter src/core/%,$(OBJS)): CPPFLAGS += -DPGMQ_CORE_SOURCE

src/pgmq.o: CPPFLAGS += -DPGMQ_VERSION=\"$(EXTVERSION)\"
src/pgmq.o: $(srcdir)/$(EXTENSION).control

.PHONY: test bench demo core-test FORCE
test:
	bash $(srcdir)/test/run_all.sh
core-test:
	bash $(srcdir)/test/core/run.sh
bench:
	bash $(srcdir)/test/bench/run.sh
demo:
	bash $(srcdir)/test/demo.sh
