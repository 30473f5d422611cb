# scanmilter - milter that hands mail to Rspamd scanners.
#
# Targets:
#   all (default)  build build/scanmilter
#   run            install missing packages, build, run in the foreground
#                  on the embedded default config
#   test           install missing packages (rspamd, postfix, miltertest
#                  included), build, run unit + integration + end-to-end
#                  tests; ends with "N passed, N failed"
#   check          unit tests only
#   bench          tests/bench/run.sh: throughput and latency against
#                  Rspamd's own proxy and direct HTTP (takes minutes)
#   install        install binary, config and docs under $(DESTDIR)$(PREFIX)
#   clean
# Knobs: SANITIZER=address|undefined|thread, CC, CFLAGS, PREFIX, DESTDIR.

CC       ?= cc
PREFIX   ?= /usr/local
SBINDIR  ?= $(PREFIX)/sbin
SYSCONFDIR ?= /etc
DATADIR  ?= $(PREFIX)/share
MANDIR   ?= $(DATADIR)/man
BUILD    := build
PKGS     := libcurl libzstd libsodium lua5.3 libconfig jansson

WARN     := -Wall -Wextra -Werror -Wstrict-prototypes -Wmissing-prototypes \
            -Wshadow -Wformat=2 -Wno-unused-parameter \
            -Wno-format-truncation -Wno-format-nonliteral
CFLAGS   ?= -O2 -g
VERSION  := 0.1.0
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -DSCANMILTER_VERSION=\"$(VERSION)\" $(WARN) $(CFLAGS) -MMD -MP -Isrc -I$(BUILD) \
            $(PKG_CFLAGS) $(SAN_FLAGS)
LDLIBS   = $(PKG_LIBS) $(MILTER_LIBS) -pthread -lm

# libmilter is linked statically so that its socket calls can be routed
# through src/milterio.c (read-ahead and write coalescing; see milterio.h),
# and its worker pool's thread starts seen (a new session's own worker)
# and kept for reuse (pthread_create and pthread_detach, src/mworkers.c).
# --wrap changes only the objects linked here, never the shared libraries.
MILTER_A    = $(shell $(CC) -print-file-name=libmilter.a)
# And its static locks are kept from being destroyed while its workers
# still use them (src/milterfix.c).
MILTER_WRAP := -Wl,--wrap=accept,--wrap=poll,--wrap=read,--wrap=writev,--wrap=close,--wrap=pthread_create \
               -Wl,--wrap=pthread_detach,--wrap=pthread_mutex_destroy,--wrap=pthread_cond_destroy
MILTER_LIBS = $(MILTER_WRAP) $(MILTER_A)
# Unit tests stub some smfi_* functions (test_milter), which a static
# libmilter would define a second time: they link the shared one.
TEST_LDLIBS = $(PKG_LIBS) $(MILTER_WRAP) -lmilter -pthread -lm

ifneq ($(SANITIZER),)
SAN_FLAGS := -fsanitize=$(SANITIZER) -fno-omit-frame-pointer
endif

# pkg-config is asked lazily so that 'make clean' works without the libraries.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

# Every module but main.c goes into libcore.a; the daemon and all tests link
# the same archive.
CORE_SRCS :=
CORE_SRCS += src/xalloc.c
CORE_SRCS += src/monotime.c
CORE_SRCS += src/fdio.c
CORE_SRCS += src/log.c
CORE_SRCS += src/buf.c
CORE_SRCS += src/blob.c
CORE_SRCS += src/conflex.c
CORE_SRCS += src/confsrc.c
CORE_SRCS += src/config.c
CORE_SRCS += src/hostlist.c
CORE_SRCS += src/session.c
CORE_SRCS += src/rspamd.c
CORE_SRCS += src/jscan.c
CORE_SRCS += src/verdict.c
CORE_SRCS += src/plan.c
CORE_SRCS += src/policy.c
CORE_SRCS += src/httpcrypt.c
CORE_SRCS += src/compress.c
CORE_SRCS += src/wire.c
CORE_SRCS += src/luabridge.c
CORE_SRCS += src/mime.c
CORE_SRCS += src/selfscan.c
CORE_SRCS += src/compare.c
CORE_SRCS += src/mirror.c
CORE_SRCS += src/upstream.c
CORE_SRCS += src/scan.c
CORE_SRCS += src/linger.c
CORE_SRCS += src/loop.c
CORE_SRCS += src/milterio.c
CORE_SRCS += src/milterfix.c
CORE_SRCS += src/mworkers.c
CORE_SRCS += src/milter.c
CORE_SRCS += $(BUILD)/default_conf.c
CORE_SRCS += $(BUILD)/builtin_rules.c

CORE_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(notdir $(CORE_SRCS)))
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))

vpath %.c src $(BUILD)

.PHONY: all run test check bench install clean deps deps-test man deb
all: $(BUILD)/scanmilter

$(BUILD):
	@mkdir -p $(BUILD) $(BUILD)/tests

$(BUILD)/default_conf.c: conf/default.conf scripts/embed-conf.sh | $(BUILD)
	sh scripts/embed-conf.sh $< > $@

RULES := $(sort $(wildcard lua/rules/*.lua))
$(BUILD)/builtin_rules.c: $(RULES) scripts/embed-rules.sh | $(BUILD)
	sh scripts/embed-rules.sh $(RULES) > $@

$(BUILD)/%.o: %.c | $(BUILD)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/libcore.a: $(CORE_OBJS)
	rm -f $@
	ar rcs $@ $^

# milterfix.o by name: only libmilter.a, linked after the archive, needs it.
$(BUILD)/scanmilter: $(BUILD)/main.o $(BUILD)/milterfix.o $(BUILD)/libcore.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

# test_milterio makes milterio's accept find no memory (see the test).
$(BUILD)/tests/test_milterio: TEST_WRAP = -Wl,--wrap=calloc

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libcore.a | $(BUILD)
	$(CC) $(ALL_CFLAGS) $(shell pkg-config --cflags cmocka) -o $@ $< \
	    $(BUILD)/libcore.a $(TEST_LDLIBS) $(TEST_WRAP) \
	    $(shell pkg-config --libs cmocka)

$(BUILD)/mbench: tests/bench/mbench.c | $(BUILD)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(shell pkg-config --libs libcurl) -pthread

deps:
	sh scripts/install-deps.sh build

deps-test:
	sh scripts/install-deps.sh test

run: deps
	$(MAKE) all
	sh scripts/run.sh $(ARGS)

check: deps-test
	$(MAKE) all
	$(MAKE) unit-bins
	bash tests/run.sh unit

unit-bins: $(UNIT_TESTS)

bench: deps-test
	$(MAKE) all $(BUILD)/mbench
	bash tests/bench/run.sh

test: deps-test
	$(MAKE) all
	$(MAKE) unit-bins
	bash tests/run.sh all

# Manual pages: scanmilter.conf(5) lists the options from the binary's own
# table (scanmilter -K), so it cannot drift from the code.
man: $(BUILD)/scanmilter.conf.5 $(BUILD)/scanmilter.8

$(BUILD)/scanmilter.conf.5: $(BUILD)/scanmilter packaging/man/scanmilter.conf.5.in scripts/gen-confman.sh
	sh scripts/gen-confman.sh $(BUILD)/scanmilter packaging/man/scanmilter.conf.5.in > $@

$(BUILD)/scanmilter.8: packaging/man/scanmilter.8 | $(BUILD)
	cp $< $@

# deb: a Debian package from a copy of this tree (packaging/debian as
# debian/, the systemd unit beside it); the .deb lands in build/deb/.
DEBSRC := $(BUILD)/deb/scanmilter-$(VERSION)
deb:
	rm -rf $(BUILD)/deb
	mkdir -p $(DEBSRC)
	tar --exclude=./build --exclude=./.git -cf - . | tar -C $(DEBSRC) -xf -
	cp -R packaging/debian $(DEBSRC)/debian
	cp packaging/systemd/scanmilter.service $(DEBSRC)/debian/scanmilter.service
	# The copy builds with its own settings: none of ours (BUILD=...) may
	# leak into its makes through the environment.
	cd $(DEBSRC) && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
	    dpkg-buildpackage -us -uc -b
	ls -l $(BUILD)/deb/*.deb

install: all man
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(SYSCONFDIR)/scanmilter \
	    $(DESTDIR)$(DATADIR)/scanmilter/lua/compare \
	    $(DESTDIR)$(DATADIR)/scanmilter/lua/rules
	install -m 755 $(BUILD)/scanmilter $(DESTDIR)$(SBINDIR)/scanmilter
	install -m 644 lua/compare/*.lua $(DESTDIR)$(DATADIR)/scanmilter/lua/compare/
	install -m 644 lua/rules/*.lua $(DESTDIR)$(DATADIR)/scanmilter/lua/rules/
	install -d $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	install -m 644 $(BUILD)/scanmilter.conf.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 644 $(BUILD)/scanmilter.8 $(DESTDIR)$(MANDIR)/man8/
	test -e $(DESTDIR)$(SYSCONFDIR)/scanmilter/scanmilter.conf || \
	    install -m 644 conf/scanmilter.conf \
	    $(DESTDIR)$(SYSCONFDIR)/scanmilter/scanmilter.conf

clean:
	rm -rf $(BUILD)

-include $(wildcard $(BUILD)/*.d $(BUILD)/tests/*.d)
