# Makefile: PGXS build of the pgmq extension (C++17).
#   make && make install             build and install into the PostgreSQL found by pg_config
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
#   make -C DIR -f $PWD/Makefile     build in DIR instead of the checkout (test/lib.sh does, in
#                                    build/asserts/ with ASSERTS=1)
EXTENSION   = pgmq
EXTVERSION  = $(shell grep default_version $(srcdir)/$(EXTENSION).control | sed -e "s/default_version[[:space:]]*=[[:space:]]*'\([^']*\)'/\1/")
MODULE_big  = pgmq
# Paths are relative to the source directory $(srcdir): "." unless built in another directory.
SOURCES     = $(patsubst $(srcdir)/%,%,$(wildcard $(srcdir)/src/*.cpp $(srcdir)/src/*/*.cpp))
OBJS        = $(SOURCES:.cpp=.o)
DATA_built  = sql/$(EXTENSION)--$(EXTVERSION).sql
DATA        = $(filter-out sql/$(EXTENSION)--$(EXTVERSION).sql,$(patsubst $(srcdir)/%,%,$(wildcard $(srcdir)/sql/$(EXTENSION)--*--*.sql)))

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

# The install script is generated from one source file.
sql/$(EXTENSION)--$(EXTVERSION).sql: sql/$(EXTENSION).sql
	cp $< $@

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
$(shell mkdir -p $(sort $(dir $(OBJS) $(DATA_built))))
endif

# Core code must not see postgres.h (src/core/core_only.hpp checks it).
$(filter src/core/%,$(OBJS)): CPPFLAGS += -DPGMQ_CORE_SOURCE

src/pgmq.o: CPPFLAGS += -DPGMQ_VERSION=\"$(EXTVERSION)\"

.PHONY: test bench demo core-test FORCE
test:
	bash test/run_all.sh
core-test:
	bash test/core/run.sh
bench:
	bash test/bench/run.sh
demo:
	bash test/demo.sh
