# picmd: the Raspberry Pi command daemon (picmdd) and its plugins.
#
#   make            build build/picmdd and build/commands/*.so
#   make run        build, then run the daemon on config/picmd.ini
#   make test       build, then run every test (also under ASan+UBSan)
#   make SANITIZE=address|thread ...   sanitized build in build/<kind>/

VERSION		:= 0.1.0
CC		?= cc
PKG_CONFIG	?= pkg-config
PREFIX		?= /usr/local

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
CMOCKA_CFLAGS	= $(shell $(PKG_CONFIG) --cflags cmocka 2>/dev/null)
CMOCKA_LIBS	= $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)

WARN		:= -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes \
		   -Wmissing-prototypes -Wno-unused-parameter
CFLAGS		?= -O2 -g
ALL_CFLAGS	:= -std=gnu11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(SANFLAGS) \
		   -Iinclude -DPICMD_VERSION='"$(VERSION)"' \
		   -DPICMD_PLUGIN_DIR='"$(PREFIX)/lib/picmd/commands"'
LDFLAGS		?=
ALL_LDFLAGS	:= $(LDFLAGS) $(SANFLAGS)

CORE_SRCS	:= src/config.c src/conn.c src/dispatch.c src/endpoint.c \
		   src/listener.c src/log.c src/plugin.c src/pool.c \
		   src/proto.c src/request.c src/server.c src/builtin.c \
		   src/strbuf.c src/callback.c src/cidr.c
CORE_OBJS	:= $(CORE_SRCS:src/%.c=$(BUILD)/obj/%.o)
# A plugin is commands/NAME.c, or a folder commands/NAME/ of .c files
# (a plugin with backends); NAME_LIBS names what it links against.
CLIENT_SRCS	:= $(wildcard src/client/*.c)
CLIENT_OBJS	:= $(CLIENT_SRCS:src/client/%.c=$(BUILD)/obj/client/%.o) \
		   $(BUILD)/obj/proto.o $(BUILD)/obj/strbuf.o
EDIT_CFLAGS	= $(shell $(PKG_CONFIG) --cflags libedit 2>/dev/null)
EDIT_LIBS	= $(shell $(PKG_CONFIG) --libs libedit 2>/dev/null)

PLUGIN_SRCS	:= $(wildcard commands/*.c)
PLUGIN_DIRS	:= $(patsubst %/,%,$(dir $(wildcard commands/*/*.c)))
PLUGINS		:= $(PLUGIN_SRCS:commands/%.c=$(BUILD)/commands/%.so) \
		   $(sort $(PLUGIN_DIRS:commands/%=$(BUILD)/commands/%.so))
gpio_LIBS	= $(shell $(PKG_CONFIG) --libs libgpiod 2>/dev/null)
gpio_CFLAGS	= $(shell $(PKG_CONFIG) --cflags libgpiod 2>/dev/null)

UNIT_SRCS	:= $(wildcard tests/unit/test_*.c)
UNIT_BINS	:= $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
TEST_PLUGIN_SRCS := $(wildcard tests/plugins/*.c)
TEST_PLUGINS	:= $(TEST_PLUGIN_SRCS:tests/plugins/%.c=$(BUILD)/tests/plugins/%.so)

.PHONY: all deps deps-test run test check check-unit check-integration \
	test-asan clean

all: $(BUILD)/picmdd $(BUILD)/picmd $(PLUGINS)

deps:
	@tools/deps.sh build

deps-test:
	@tools/deps.sh test

$(BUILD)/obj/%.o: src/%.c | $(BUILD)/obj
	$(CC) $(ALL_CFLAGS) $(DEPS_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/obj/client/%.o: src/client/%.c | $(BUILD)/obj/client
	$(CC) $(ALL_CFLAGS) $(EDIT_CFLAGS) -Isrc -MMD -MP -c -o $@ $<

$(BUILD)/picmd: $(CLIENT_OBJS)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(EDIT_LIBS)

$(BUILD)/picmdd: $(CORE_OBJS) $(BUILD)/obj/main.o
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(DEPS_LIBS) -ldl -lpthread

$(BUILD)/commands/%.so: commands/%.c include/picmd/plugin.h | $(BUILD)/commands
	$(CC) $(ALL_CFLAGS) $($*_CFLAGS) -fPIC -shared -fvisibility=hidden \
		-MMD -MP -o $@ $< $(ALL_LDFLAGS) $($*_LIBS)

.SECONDEXPANSION:
$(BUILD)/commands/%.so: $$(wildcard commands/%/*.c) $$(wildcard commands/%/*.h) include/picmd/plugin.h | $(BUILD)/commands
	$(CC) $(ALL_CFLAGS) $($*_CFLAGS) -Icommands/$* -fPIC -shared \
		-fvisibility=hidden -o $@ $(filter %.c,$^) $(ALL_LDFLAGS) $($*_LIBS)

$(BUILD)/tests/plugins/%.so: tests/plugins/%.c include/picmd/plugin.h | $(BUILD)/tests/plugins
	$(CC) $(ALL_CFLAGS) -fPIC -shared -fvisibility=hidden -o $@ $< \
		$(ALL_LDFLAGS)

# Unit tests link the core objects and the plugin harness, which loads
# plugins from this build's commands/ through the real loader.
$(BUILD)/tests/test_%: tests/unit/test_%.c tests/unit/harness.c tests/unit/harness.h $(CORE_OBJS) | $(BUILD)/tests
	$(CC) $(ALL_CFLAGS) $(DEPS_CFLAGS) $(CMOCKA_CFLAGS) -Isrc -Itests/unit \
		-DTEST_PLUGIN_DIR='"$(abspath $(BUILD))/commands"' \
		-DTEST_FIXTURES='"$(abspath tests/fixtures)"' \
		-o $@ $< tests/unit/harness.c $(CORE_OBJS) $(ALL_LDFLAGS) \
		$(CMOCKA_LIBS) $(DEPS_LIBS) -ldl -lpthread

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

check: check-unit check-integration

test: deps-test
	@$(MAKE) --no-print-directory check
	@$(MAKE) --no-print-directory SANITIZE=address check

clean:
	rm -rf build

-include $(wildcard $(BUILD)/obj/*.d $(BUILD)/obj/client/*.d $(BUILD)/commands/*.d)
