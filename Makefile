# picmd: the Raspberry Pi command daemon (picmdd) and its plugins.
#
#   make            build build/picmdd and build/commands/*.so
#   make run        build, then run the daemon on config/picmd.ini
#   make test       build, then run every test (also under ASan+UBSan)
#   make SANITIZE=address|thread ...   sanitized build in build/<kind>/
#   make test SANITIZE=address|thread   every test, that sanitizer only
#   make test-valgrind   the integration tests under valgrind memcheck
#   make fuzz       libFuzzer harnesses, FUZZ_SECONDS (60) each
#   make ARCH=arm64|armhf [SUITE=trixie] [test]   cross-build in
#                   build/<arch>[-<suite>]/, tests under qemu-user
#                   (docs/CROSS.md)

VERSION		:= 0.1.0
CC		?= cc
PKG_CONFIG	?= pkg-config
PREFIX		?= /usr/local

# ARCH=arm64|armhf: cross-build into build/$(ARCH)/ (mk/cross.mk).
# Only from the command line: an ARCH left in the environment (common
# among kernel developers) must not turn a native build into a cross one.
ifneq ($(origin ARCH),command line)
override ARCH	:=
endif
ifneq ($(ARCH),)
# SUITE=bookworm|trixie (cross builds only): the Debian release whose
# libraries the sysroot holds; the build machine's own by default, and
# another one builds in build/$(ARCH)-$(SUITE)/ (mk/cross.mk).
HOST_SUITE	:= $(shell . /etc/os-release 2>/dev/null && echo "$$VERSION_CODENAME")
SUITE		?= $(HOST_SUITE)
SYSROOT_SUITE	:= $(filter-out $(HOST_SUITE),$(SUITE))
BUILD		?= build/$(ARCH)$(if $(SYSROOT_SUITE),-$(SYSROOT_SUITE))
endif

# 64-bit time_t where the target release built its libraries so: Debian
# 13 moved its 32-bit ARM ports (armhf, armel) to it (the "t64"
# transition; i386 kept 32 bits, Debian 12 did too).  libevent's struct
# timeval must mean the same to us as to it, or every timer is wrong.
TARGET_SUITE	:= $(if $(ARCH),$(SUITE),$(shell . /etc/os-release 2>/dev/null && echo "$$VERSION_CODENAME"))
TARGET_DEBARCH	:= $(if $(ARCH),$(ARCH),$(shell dpkg --print-architecture 2>/dev/null))
TIME64_CFLAGS	:= $(if $(filter armhf armel,$(TARGET_DEBARCH)),$(if \
		   $(filter buster bullseye bookworm,$(TARGET_SUITE)),,-D_TIME_BITS=64))

SANITIZE	?=
ifeq ($(SANITIZE),)
BUILD		?= build
SANFLAGS	:=
else ifeq ($(SANITIZE),address)
BUILD		?= build/asan
SANFLAGS	:= -fsanitize=address,undefined -fno-omit-frame-pointer \
		   -fno-sanitize-recover=undefined
else ifeq ($(SANITIZE),thread)
BUILD		?= build/tsan
SANFLAGS	:= -fsanitize=thread
else
$(error SANITIZE must be address or thread)
endif

DEPS_CFLAGS	= $(shell $(PKG_CONFIG) --cflags libevent_core libevent_pthreads inih 2>/dev/null)
DEPS_LIBS	= $(shell $(PKG_CONFIG) --libs libevent_core libevent_pthreads inih 2>/dev/null)
# The sd-daemon protocol is spoken directly (src/service.c says why);
# WITH_LIBSYSTEMD=1 uses libsystemd's implementation instead.
ifeq ($(WITH_LIBSYSTEMD),1)
SYSTEMD_CFLAGS	= -DHAVE_LIBSYSTEMD $(shell $(PKG_CONFIG) --cflags libsystemd)
SYSTEMD_LIBS	= $(shell $(PKG_CONFIG) --libs libsystemd)
else
SYSTEMD_CFLAGS	=
SYSTEMD_LIBS	=
endif
CMOCKA_CFLAGS	= $(shell $(PKG_CONFIG) --cflags cmocka 2>/dev/null)
CMOCKA_LIBS	= $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)

WARN		:= -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes \
		   -Wmissing-prototypes -Wno-unused-parameter
CFLAGS		?= -O2 -g
# _FILE_OFFSET_BITS=64: 64-bit off_t and ino_t on 32-bit targets (armhf)
# too, as libevent's headers define it anyway; without it readdir() and
# stat() fail with EOVERFLOW on 64-bit offsets and inode numbers.
ALL_CFLAGS	:= -std=gnu11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 \
		   $(TIME64_CFLAGS) $(WARN) \
		   $(CFLAGS) $(SANFLAGS) \
		   -Iinclude -DPICMD_VERSION='"$(VERSION)"' \
		   -DPICMD_PLUGIN_DIR='"$(PREFIX)/lib/picmd/commands"'
LDFLAGS		?=
ALL_LDFLAGS	:= $(LDFLAGS) $(SANFLAGS)

CORE_SRCS	:= src/config.c src/conn.c src/dispatch.c src/endpoint.c \
		   src/listener.c src/log.c src/plugin.c src/pool.c \
		   src/proto.c src/request.c src/server.c src/builtin.c \
		   src/strbuf.c src/callback.c src/cidr.c src/conn_access.c \
		   src/service.c src/deadline.c src/topic.c src/evqueue.c \
		   src/events.c src/conn_events.c src/fdwatch.c \
		   src/failsafe.c src/lease.c \
		   src/compat_pigpio.c src/compat_pigpio_cmds.c \
		   src/compat_pigpio_config.c
CORE_OBJS	:= $(CORE_SRCS:src/%.c=$(BUILD)/obj/%.o)
# A plugin is commands/NAME.c, or a folder commands/NAME/ of .c files
# (a plugin with backends); NAME_LIBS names what it links against.
CLIENT_SRCS	:= $(wildcard src/client/*.c)
CLIENT_OBJS	:= $(CLIENT_SRCS:src/client/%.c=$(BUILD)/obj/client/%.o) \
		   $(BUILD)/obj/proto.o $(BUILD)/obj/strbuf.o
EDIT_CFLAGS	= $(shell $(PKG_CONFIG) --cflags libedit 2>/dev/null)
EDIT_LIBS	= $(shell $(PKG_CONFIG) --libs libedit 2>/dev/null)

# commands/common/ is not a plugin: its .c files (what the plugins share,
# e.g. sysfs.c) are compiled into every plugin, each its own hidden copy.
COMMON_SRCS	:= $(wildcard commands/common/*.c)
COMMON_HDRS	:= $(wildcard commands/common/*.h)
PLUGIN_SRCS	:= $(wildcard commands/*.c)
PLUGIN_DIRS	:= $(filter-out commands/common, \
		   $(patsubst %/,%,$(dir $(wildcard commands/*/*.c))))
PLUGINS		:= $(PLUGIN_SRCS:commands/%.c=$(BUILD)/commands/%.so) \
		   $(sort $(PLUGIN_DIRS:commands/%=$(BUILD)/commands/%.so))
gpio_LIBS	= $(shell $(PKG_CONFIG) --libs libgpiod 2>/dev/null)
gpio_CFLAGS	= $(shell $(PKG_CONFIG) --cflags libgpiod 2>/dev/null)
# One chip backend per build, by libgpiod's major version: 1.x (Debian
# 12) backend_chip_v1.c, 2.x (Debian 13) backend_chip_v2.c.  NAME_EXCLUDE
# names the sources of a plugin folder that this build leaves out.
GPIOD_MAJOR	= $(firstword $(subst ., ,$(shell $(PKG_CONFIG) --modversion libgpiod 2>/dev/null)))
gpio_EXCLUDE	= $(if $(filter 1,$(GPIOD_MAJOR)),commands/gpio/backend_chip_v2.c,commands/gpio/backend_chip_v1.c)

UNIT_SRCS	:= $(wildcard tests/unit/test_*.c)
UNIT_BINS	:= $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
TEST_PLUGIN_SRCS := $(wildcard tests/plugins/*.c)
TEST_PLUGINS	:= $(TEST_PLUGIN_SRCS:tests/plugins/%.c=$(BUILD)/tests/plugins/%.so)

.PHONY: all deps deps-test run test check check-unit check-integration \
	check-python \
	test-asan clean deps-fuzz deps-valgrind fuzz fuzz-build fuzz-regress \
	test-valgrind

all: $(BUILD)/picmdd $(BUILD)/picmd $(PLUGINS)

deps:
	@tools/deps.sh build

deps-test:
	@tools/deps.sh test

$(BUILD)/obj/%.o: src/%.c | $(BUILD)/obj
	$(CC) $(ALL_CFLAGS) $(DEPS_CFLAGS) $(SYSTEMD_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/obj/client/%.o: src/client/%.c | $(BUILD)/obj/client
	$(CC) $(ALL_CFLAGS) $(EDIT_CFLAGS) -Isrc -MMD -MP -c -o $@ $<

$(BUILD)/picmd: $(CLIENT_OBJS)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(EDIT_LIBS)

$(BUILD)/picmdd: $(CORE_OBJS) $(BUILD)/obj/main.o
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(DEPS_LIBS) $(SYSTEMD_LIBS) -ldl -lpthread

# The plugin's own source goes last: with several sources, -MMD writes the
# .d file once per source, and the last one's is kept (the common files
# are prerequisites by name anyway).
$(BUILD)/commands/%.so: commands/%.c $(COMMON_SRCS) $(COMMON_HDRS) include/picmd/plugin.h | $(BUILD)/commands
	$(CC) $(ALL_CFLAGS) $($*_CFLAGS) -Icommands/common -fPIC -shared \
		-fvisibility=hidden -MMD -MP -o $@ $(COMMON_SRCS) $< \
		$(ALL_LDFLAGS) $($*_LIBS)

.SECONDEXPANSION:
$(BUILD)/commands/%.so: $$(wildcard commands/%/*.c) $$(wildcard commands/%/*.h) $(COMMON_SRCS) $(COMMON_HDRS) include/picmd/plugin.h | $(BUILD)/commands
	$(CC) $(ALL_CFLAGS) $($*_CFLAGS) -Icommands/$* -Icommands/common \
		-fPIC -shared -fvisibility=hidden -o $@ \
		$(filter-out $($*_EXCLUDE),$(filter %.c,$^)) \
		$(ALL_LDFLAGS) $($*_LIBS)

$(BUILD)/tests/plugins/%.so: tests/plugins/%.c include/picmd/plugin.h | $(BUILD)/tests/plugins
	$(CC) $(ALL_CFLAGS) -fPIC -shared -fvisibility=hidden -o $@ $< \
		$(ALL_LDFLAGS)

# Unit tests link the core objects and the plugin harness, which loads
# plugins from this build's commands/ through the real loader.
$(BUILD)/tests/test_%: tests/unit/test_%.c tests/unit/harness.c tests/unit/harness.h $(CORE_OBJS) | $(BUILD)/tests $(PLUGINS)
	$(CC) $(ALL_CFLAGS) $(DEPS_CFLAGS) $(CMOCKA_CFLAGS) -Isrc -Itests/unit \
		-DTEST_PLUGIN_DIR='"$(abspath $(BUILD))/commands"' \
		-DTEST_FIXTURES='"$(abspath tests/fixtures)"' \
		-o $@ $< tests/unit/harness.c $(CORE_OBJS) $(ALL_LDFLAGS) \
		$(CMOCKA_LIBS) $(DEPS_LIBS) $(SYSTEMD_LIBS) -ldl -lpthread

$(BUILD)/obj $(BUILD)/obj/client $(BUILD)/commands $(BUILD)/tests $(BUILD)/tests/plugins:
	@mkdir -p $@

run: deps
	@$(MAKE) --no-print-directory all
	./$(BUILD)/picmdd -c config/picmd.ini

# Everything a test run needs, built.
check-build: all $(UNIT_BINS) $(TEST_PLUGINS)

check-unit: check-build
	@tools/run-unit.sh $(UNIT_BINS)

check-integration: check-build
	@python3 tests/integration/run.py --build $(BUILD)

# The Python package's tests (tests/python/) against this build's daemon;
# on the machine's own architecture only (they test the library, which
# is the same everywhere).
check-python: check-build
	@PICMD_BUILD=$(BUILD) $(PYTHON3) -m unittest discover -s tests/python \
		-t . $(if $(V),-v)

check: check-unit check-integration $(if $(ARCH),,check-python)

# "make test": the plain build, then ASan+UBSan.  "make test
# SANITIZE=address|thread": that leg only (the variable reaches the
# sub-make from the command line).  "make test ARCH=...": the cross build
# under qemu-user, no sanitizer leg.
test: deps-test
	@$(MAKE) --no-print-directory check
	@$(MAKE) --no-print-directory check-systemd
ifeq ($(SANITIZE)$(ARCH),)
	@$(MAKE) --no-print-directory SANITIZE=address check
endif

# ThreadSanitizer: tests/tsan.supp says what is not ours, and why.  Every
# process a test starts (unit tests, the daemon) inherits these options;
# options the caller gives come later and win.
ifeq ($(SANITIZE),thread)
export TSAN_OPTIONS := suppressions=$(abspath tests/tsan.supp) \
	second_deadlock_stack=1 $(TSAN_OPTIONS)
endif

# valgrind memcheck on the integration tests, plain build (no sanitizer).
# A leak or memory error makes the daemon exit 99, and the harness
# asserts exit status 0 when it stops each daemon.  -q: valgrind prints
# only what it finds, so tests that check the daemon's stderr still can.
VALGRIND	?= valgrind -q --error-exitcode=99 --leak-check=full \
		   --errors-for-leak-kinds=definite,indirect \
		   --show-leak-kinds=definite,indirect

deps-valgrind:
	@tools/deps.sh valgrind

test-valgrind: deps-valgrind
	@$(MAKE) --no-print-directory SANITIZE= BUILD=build check-build
	PICMD_TEST_WRAPPER="$(VALGRIND)" python3 tests/integration/run.py \
		--build build

# libFuzzer (tests/fuzz/README.md): clang, with ASan+UBSan; the harnesses
# compile the few sources they test themselves.  New corpus entries go to
# build/fuzz/corpus/, crash inputs to build/fuzz/crashes/.
FUZZ_CC		?= clang-14
FUZZ_SECONDS	?= 60
FUZZ_BUILD	:= build/fuzz
FUZZ_NAMES	:= proto config
FUZZ_BINS	:= $(FUZZ_NAMES:%=$(FUZZ_BUILD)/fuzz_%)
# (clang also flags log.c's vsnprintf, which gcc accepts: no-format-nonliteral)
FUZZ_CFLAGS	:= -std=gnu11 -D_GNU_SOURCE $(WARN) -Wno-format-nonliteral -g -O1 \
		   -fsanitize=fuzzer,address,undefined \
		   -fno-sanitize-recover=undefined -fno-omit-frame-pointer \
		   -Iinclude -Isrc -DPICMD_VERSION='"$(VERSION)"' \
		   -DPICMD_PLUGIN_DIR='"$(PREFIX)/lib/picmd/commands"'
fuzz_proto_SRCS	:= src/proto.c src/strbuf.c
fuzz_config_SRCS := src/config.c src/log.c src/endpoint.c src/cidr.c \
		    src/compat_pigpio_config.c
fuzz_config_LIBS = $(shell $(PKG_CONFIG) --cflags --libs inih 2>/dev/null)

deps-fuzz:
	@tools/deps.sh fuzz

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $$(fuzz_$$*_SRCS) $$(wildcard src/*.h)
	@mkdir -p $(FUZZ_BUILD)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(fuzz_$*_SRCS) $(fuzz_$*_LIBS)

fuzz-build: $(FUZZ_BINS)

# Each harness over its seed corpus only (with the crash inputs kept there).
fuzz-regress: deps-fuzz
	@$(MAKE) --no-print-directory fuzz-build
	@for n in $(FUZZ_NAMES); do \
		tests/fuzz/run.sh $(FUZZ_BUILD) $$n 0 || exit 1; done

fuzz: deps-fuzz
	@$(MAKE) --no-print-directory fuzz-build
	@for n in $(FUZZ_NAMES); do \
		tests/fuzz/run.sh $(FUZZ_BUILD) $$n $(FUZZ_SECONDS) || exit 1; done

clean:
	rm -rf build

-include $(wildcard $(BUILD)/obj/*.d $(BUILD)/obj/client/*.d $(BUILD)/commands/*.d)

# Install, packaging and cross-building live in mk/*.mk.
include $(sort $(wildcard mk/*.mk))
