# nginx Event Mesh: build, run, test, bench, fuzz.
#
#   make run     install what is missing, build, start NATS + nginx + dispatcher
#   make test    install what is missing, build, run every suite
#
# Everything is built under build/.  Debian packages that are missing are
# installed with apt-get first (as root), so both commands work on a fresh
# Debian 12 machine.

SHELL       := /bin/bash

# no "Leaving directory" after prove's summary, which must be the last line
MAKEFLAGS   += --no-print-directory

BUILD       := build
CC          ?= cc
CLANG       ?= clang

CSTD        := -std=c11 -D_GNU_SOURCE
WARN        := -Wall -Wextra -Werror
OPT         ?= -O2 -g
SAN         ?=
CFLAGS_EM   := $(CSTD) $(WARN) $(OPT) $(SAN) -fPIC -Iinclude -Icore
LIBS_CORE   := -ljansson -lpcre2-8 -lcrypto
LIBS_DISP   := -lnats -lyaml -lcurl -luv -lssl $(LIBS_CORE) -lpthread

CORE_SRCS   := $(sort $(wildcard core/*.c))
CORE_OBJS   := $(patsubst core/%.c,$(BUILD)/core/%.o,$(CORE_SRCS))
CORE_HDRS   := $(wildcard include/eventmesh/*.h core/*.h)
DISP_SRCS   := $(sort $(wildcard dispatcher/*.c))
DISP_OBJS   := $(patsubst dispatcher/%.c,$(BUILD)/dispatcher/%.o,$(DISP_SRCS))
DISP_HDRS   := $(wildcard dispatcher/*.h)
UNIT_SRCS   := $(sort $(wildcard t/unit/test_*.c))
UNIT_BINS   := $(patsubst t/unit/%.c,$(BUILD)/t/unit/%,$(UNIT_SRCS))
FUZZ_SRCS   := $(sort $(wildcard fuzz/fuzz_*.c))
FUZZ_BINS   := $(patsubst fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
NGX_SRCS    := $(wildcard ngx_module/*.c ngx_module/*.h)

LIB         := $(BUILD)/libeventmesh.a
MODULE      := $(BUILD)/ngx_http_event_mesh_module.so
DISPATCHER  := $(BUILD)/event-mesh-dispatcher

# Debian packages the build, the tests and `make run` need.
DEB_PKGS    := gcc make perl nginx nginx-dev nats-server libnats-dev \
               libjansson-dev libpcre2-dev libcurl4-openssl-dev libyaml-dev \
               libuv1-dev libssl-dev zlib1g-dev curl openssl \
               libtest-base-perl libtest-longstring-perl liblist-moreutils-perl \
               libhttp-message-perl libtext-diff-perl liburi-perl libipc-run-perl \
               libio-socket-ssl-perl
DEB_FUZZ    := clang libclang-rt-14-dev
DEB_BENCH   := wrk

NGX_SRC     := /usr/share/nginx/src
NGX_BUILD   := $(BUILD)/nginx
FUZZ_SECONDS ?= 30

.PHONY: all deps deps-fuzz deps-bench lib module dispatcher unit test \
        test-run test-unit test-valgrind test-asan fuzz fuzz-build fuzz-smoke run clean \
        bench bench-ingress bench-dispatch bench-filters

all: lib module dispatcher unit

# --- packages -------------------------------------------------------------

define install_missing
	@missing=""; \
	for p in $(1); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
	        | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	    echo "installing Debian packages:$$missing"; \
	    if [ "$$(id -u)" != 0 ]; then \
	        echo "run as root (or install them yourself):$$missing" >&2; \
	        exit 1; \
	    fi; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get update -qq && apt-get install -y -qq --no-install-recommends \
	        $$missing >/dev/null || exit 1; \
	fi
endef

deps:
	$(call install_missing,$(DEB_PKGS))

deps-fuzz:
	$(call install_missing,$(DEB_FUZZ))

deps-bench:
	$(call install_missing,$(DEB_BENCH))

# --- core library ---------------------------------------------------------

lib: $(LIB)

$(BUILD)/core/%.o: core/%.c $(CORE_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_EM) -c $< -o $@

$(LIB): $(CORE_OBJS)
	@rm -f $@
	ar rcs $@ $^

# --- nginx module (dynamic, against Debian's nginx via nginx-dev) ---------

module: $(MODULE)

$(NGX_BUILD)/objs/Makefile: config core ngx_module
	@rm -rf $(NGX_BUILD) && mkdir -p $(BUILD)
	cp -r $(NGX_SRC) $(NGX_BUILD)
	source $(NGX_BUILD)/conf_flags && cd $(NGX_BUILD) && \
	    ./configure "$${NGX_CONF_FLAGS[@]}" \
	        --with-cc-opt="$(SAN) -g -O2 -fPIC" \
	        --with-ld-opt="$(SAN) -fPIC" \
	        --add-dynamic-module=$(CURDIR) > configure.log 2>&1 \
	    || { tail -20 configure.log; exit 1; }

$(MODULE): $(NGX_BUILD)/objs/Makefile $(NGX_SRCS) $(CORE_SRCS) $(CORE_HDRS)
	$(MAKE) -s -C $(NGX_BUILD) -f objs/Makefile modules
	cp $(NGX_BUILD)/objs/ngx_http_event_mesh_module.so $@.tmp
	mv -f $@.tmp $@

# --- dispatcher -----------------------------------------------------------

dispatcher: $(DISPATCHER)

$(BUILD)/dispatcher/%.o: dispatcher/%.c $(DISP_HDRS) $(CORE_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_EM) -Idispatcher -c $< -o $@

$(DISPATCHER): $(DISP_OBJS) $(LIB)
	$(CC) $(SAN) -o $@ $(DISP_OBJS) $(LIB) $(LIBS_DISP)

# --- unit tests -----------------------------------------------------------

unit: $(UNIT_BINS)

$(BUILD)/t/unit/%: t/unit/%.c $(LIB) $(wildcard t/unit/*.h)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_EM) -It/unit -o $@ $< $(LIB) $(LIBS_CORE)

# Unit tests of the dispatcher's pieces link its objects, less main().
DISP_LIB_OBJS = $(filter-out $(BUILD)/dispatcher/main.o,$(DISP_OBJS))

$(BUILD)/t/unit/test_disp_%: t/unit/test_disp_%.c $(DISP_LIB_OBJS) $(LIB) \
        $(wildcard t/unit/*.h)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_EM) -It/unit -Idispatcher -o $@ $< $(DISP_LIB_OBJS) \
	    $(LIB) $(LIBS_DISP)

# The CESQL conformance kit is YAML, read with libyaml.
$(BUILD)/t/unit/test_cesql_tck: t/unit/test_cesql_tck.c $(LIB) \
        $(wildcard t/unit/*.h)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_EM) -It/unit -o $@ $< $(LIB) $(LIBS_CORE) -lyaml

# --- tests ----------------------------------------------------------------

# The project's harness stands in for Test::Nginx only when the real one is
# not installed.
TEST_ENV = TEST_NGINX_BINARY=$${TEST_NGINX_BINARY:-/usr/sbin/nginx} \
    TEST_NGINX_LOAD_MODULES=$(CURDIR)/$(MODULE) \
    TEST_NGINX_RANDOMIZE=1 \
    EM_DISPATCHER=$(CURDIR)/$(DISPATCHER) \
    PERL5LIB=$$(perl -MTest::Nginx::Socket -e1 2>/dev/null \
        || echo $(CURDIR)/t/lib)$${PERL5LIB:+:$$PERL5LIB}

PROVE_JOBS ?= 2

# The fuzz targets run first (30 s each, two at a time), so that prove's
# summary stays the last line.
test: deps
	$(MAKE) all
	$(MAKE) fuzz-smoke
	$(MAKE) test-run

test-run: all
	$(TEST_ENV) prove -j$(PROVE_JOBS) $(UNIT_BINS) t/*.t \
	    $$(perl -MTest::Nginx::Socket -e1 2>/dev/null || echo t/lib/t/*.t)

# The nginx suites again with nginx under valgrind memcheck: any error or
# leak report fails the block (t/valgrind.suppress lists nginx's own).
test-valgrind: all
	$(TEST_ENV) TEST_NGINX_USE_VALGRIND=1 prove -j$(PROVE_JOBS) \
	    t/000-sanity.t t/010-*.t t/020-*.t

test-unit: unit
	prove $(UNIT_BINS)

# The fault suites' long variants: each sends SOAK_EVENTS numbered events
# through the ingress, at SOAK_RATE a second, while its fault happens (see
# "Guarantees" in README.md); one suite at a time, with their figures.
SOAK_EVENTS ?= 20000
SOAK_RATE   ?= 400

.PHONY: soak soak-run

soak: deps
	$(MAKE) all
	$(MAKE) soak-run

soak-run: all
	$(TEST_ENV) EM_FAULT_EVENTS=$(SOAK_EVENTS) EM_FAULT_RATE=$(SOAK_RATE) \
	    prove t/08*-fault-*.t

# Everything rebuilt with ASan+UBSan in build-asan/.  nginx itself is not
# instrumented, so the harness preloads the sanitizer runtime for it.
ASAN_SAN := -fsanitize=address,undefined -fno-omit-frame-pointer \
            -fno-sanitize-recover=all

test-asan: deps
	$(MAKE) BUILD=build-asan OPT="-O1 -g" SAN="$(ASAN_SAN)" all
	ASAN_OPTIONS=abort_on_error=1:detect_leaks=1:fast_unwind_on_malloc=0 \
	LSAN_OPTIONS=suppressions=$(CURDIR)/t/lsan.suppress:print_suppressions=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	TEST_NGINX_LD_PRELOAD=$$($(CC) -print-file-name=libasan.so) \
	    $(MAKE) BUILD=build-asan OPT="-O1 -g" SAN="$(ASAN_SAN)" test-run

# --- fuzzing --------------------------------------------------------------

# The parsers' sources are compiled once, instrumented, and linked into
# every target; `make fuzz` runs FUZZ_JOBS targets at a time.
FUZZ_CFLAGS := $(CSTD) -g -O1 -fsanitize=address,undefined \
               -fno-sanitize-recover=all -Iinclude -Icore
FUZZ_OBJS   := $(BUILD)/fuzz/obj
FUZZ_JOBS   ?= 2

# Targets for the dispatcher's parsers link its sources, less main().
DISP_LIB_SRCS  := $(filter-out dispatcher/main.c,$(DISP_SRCS))
FUZZ_CORE_OBJS := $(patsubst core/%.c,$(FUZZ_OBJS)/core/%.o,$(CORE_SRCS))
FUZZ_DISP_OBJS := $(patsubst dispatcher/%.c,$(FUZZ_OBJS)/dispatcher/%.o,\
                    $(DISP_LIB_SRCS))

FUZZ_DISP_BINS := $(filter $(BUILD)/fuzz/fuzz_dispatcher_%,$(FUZZ_BINS))
FUZZ_CORE_BINS := $(filter-out $(FUZZ_DISP_BINS),$(FUZZ_BINS))

fuzz-build: deps-fuzz $(FUZZ_BINS)

$(FUZZ_CORE_OBJS): $(FUZZ_OBJS)/core/%.o: core/%.c $(CORE_HDRS)
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_DISP_OBJS): $(FUZZ_OBJS)/dispatcher/%.o: dispatcher/%.c $(CORE_HDRS) \
        $(DISP_HDRS)
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -Idispatcher \
	    -c -o $@ $<

$(FUZZ_CORE_BINS): $(BUILD)/fuzz/%: fuzz/%.c fuzz/fuzz_common.h \
        $(FUZZ_CORE_OBJS)
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_CORE_OBJS) \
	    $(LIBS_CORE)

$(FUZZ_DISP_BINS): $(BUILD)/fuzz/%: fuzz/%.c fuzz/fuzz_common.h \
        $(FUZZ_CORE_OBJS) $(FUZZ_DISP_OBJS)
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer -Idispatcher -o $@ $< \
	    $(FUZZ_DISP_OBJS) $(FUZZ_CORE_OBJS) $(LIBS_DISP)

# make fuzz FUZZ_SECONDS=600 runs each target that long.
fuzz fuzz-smoke: deps-fuzz
	@$(MAKE) --no-print-directory -j$(FUZZ_JOBS) $(FUZZ_BINS)
	@$(MAKE) --no-print-directory -j$(FUZZ_JOBS) \
	    FUZZ_SECONDS=$(FUZZ_SECONDS) $(FUZZ_BINS:%=%.run)

# One target's run; never a file, so always made.  A finding fails it and
# leaves the input next to the target.
$(FUZZ_BINS:%=%.run): %.run: %
	@name=$(notdir $*); log=$(BUILD)/fuzz/$$name.log; \
	mkdir -p $(BUILD)/fuzz/corpus-$$name; \
	$< -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=$(BUILD)/fuzz/$$name- \
	    $(BUILD)/fuzz/corpus-$$name fuzz/corpus/$$name 2> $$log \
	|| { echo "fuzz: $$name FAILED (log: $$log)"; tail -40 $$log; \
	     exit 1; }; \
	echo "fuzz: $$name $(FUZZ_SECONDS)s:" $$(grep -E \
	    'stat::number_of_executed_units|stat::peak_rss' $$log)

fuzz-smoke: FUZZ_SECONDS = 30

# --- benchmarks -----------------------------------------------------------

$(BUILD)/bench/js-pub: bench/js_pub.c bench/js_common.h
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(WARN) -O2 -g -Iinclude -o $@ $< -lnats -lpthread

$(BUILD)/bench/js-consume: bench/js_consume.c bench/js_common.h
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(WARN) -O2 -g -Iinclude -o $@ $< -lnats -lcurl -lpthread

# Matching an event against 1, 100 and 1000 Triggers: CPU only, no servers.
$(BUILD)/bench/filters: bench/filters.c $(LIB) $(CORE_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(WARN) -O2 -g -Iinclude -o $@ $< $(LIB) $(LIBS_CORE)

bench-filters: $(BUILD)/bench/filters
	$(BUILD)/bench/filters

bench-ingress: deps deps-bench
	$(MAKE) all $(BUILD)/bench/js-pub
	bench/ingress.sh

bench-dispatch: deps deps-bench
	$(MAKE) all $(BUILD)/bench/js-pub $(BUILD)/bench/js-consume
	bench/dispatch.sh

bench: bench-ingress bench-dispatch bench-filters

# --- run ------------------------------------------------------------------

run: deps
	$(MAKE) all
	conf/run.sh

clean:
	rm -rf build build-asan t/servroot*
