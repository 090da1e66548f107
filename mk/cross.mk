# Cross-building for the Raspberry Pi's architectures (docs/CROSS.md).
#
#   make ARCH=arm64|armhf        everything, in build/$(ARCH)/
#   make test ARCH=arm64|armhf   unit and integration tests under qemu-user
#   make ARCH=arm64 SUITE=trixie [test]   against Debian 13's libraries,
#                                in build/arm64-trixie/ (any release
#                                other than the machine's own)
#
# Debian's cross compiler, against a sysroot of Debian's $(ARCH) library
# packages that tools/sysroot.sh downloads and unpacks into
# build/sysroot-$(ARCH)/ once (nothing is installed for $(ARCH)).  The
# Makefile sets BUILD to build/$(ARCH) and skips the ASan leg of "make
# test" when ARCH is set.

ifneq ($(ARCH),)

comma		:= ,

ifeq ($(ARCH),arm64)
CROSS_TRIPLET	:= aarch64-linux-gnu
CROSS_QEMU	:= qemu-aarch64-static
else ifeq ($(ARCH),armhf)
CROSS_TRIPLET	:= arm-linux-gnueabihf
CROSS_QEMU	:= qemu-arm-static
else
$(error ARCH must be arm64 or armhf; unset it for a native build)
endif
ifneq ($(SANITIZE),)
$(error SANITIZE and ARCH do not mix: no sanitizer builds for $(ARCH))
endif

SYSROOT		?= build/sysroot-$(ARCH)$(if $(SYSROOT_SUITE),-$(SYSROOT_SUITE))
SYSROOT_ABS	:= $(abspath $(SYSROOT))
SYSROOT_STAMP	:= $(SYSROOT)/.picmd-sysroot

# A CC from the environment is most likely the host's compiler: only the
# command line replaces the cross compiler.
ifneq ($(origin CC),command line)
CC		:= $(CROSS_TRIPLET)-gcc
endif
# Debian's cross compiler also searches its own target libc
# (/usr/$(CROSS_TRIPLET)/, the machine's release), with paths --sysroot
# does not move.  The sysroot's headers, start files and libraries are
# put first, so a sysroot of another release (trixie's glibc 2.41 on a
# bookworm machine) is what the program is compiled and linked against.
SYSROOT_LIBDIRS	:= $(SYSROOT_ABS)/usr/lib/$(CROSS_TRIPLET) $(SYSROOT_ABS)/lib/$(CROSS_TRIPLET)
ALL_CFLAGS	+= --sysroot=$(SYSROOT_ABS) \
		   -isystem $(SYSROOT_ABS)/usr/include/$(CROSS_TRIPLET) \
		   -isystem $(SYSROOT_ABS)/usr/include
ALL_LDFLAGS	+= --sysroot=$(SYSROOT_ABS) \
		   -B$(SYSROOT_ABS)/usr/lib/$(CROSS_TRIPLET) \
		   $(addprefix -L,$(SYSROOT_LIBDIRS)) \
		   $(addprefix -Wl$(comma)-rpath-link$(comma),$(SYSROOT_LIBDIRS))
# pkg-config sees the sysroot's .pc files only and prefixes their paths
# with it; the sysroot's default directories are left to --sysroot.
ifeq ($(origin PKG_CONFIG),file)
CROSS_LIBDIRS	:= $(SYSROOT_ABS)/usr/lib/$(CROSS_TRIPLET):$(SYSROOT_ABS)/lib/$(CROSS_TRIPLET)
PKG_CONFIG	:= env PKG_CONFIG_PATH= \
		   PKG_CONFIG_LIBDIR=$(SYSROOT_ABS)/usr/lib/$(CROSS_TRIPLET)/pkgconfig:$(SYSROOT_ABS)/usr/share/pkgconfig \
		   PKG_CONFIG_SYSROOT_DIR=$(SYSROOT_ABS) \
		   PKG_CONFIG_SYSTEM_INCLUDE_PATH=$(SYSROOT_ABS)/usr/include \
		   PKG_CONFIG_SYSTEM_LIBRARY_PATH=$(CROSS_LIBDIRS) pkg-config
endif

# The tests run every binary of the build through qemu-user, its runtime
# libraries (ld.so included) from the sysroot: tools/run-unit.sh and
# tests/integration/harness.py prefix PICMD_TEST_EMULATOR.
export PICMD_TEST_EMULATOR := $(CROSS_QEMU) -L $(SYSROOT_ABS)

# Everything compiled needs the sysroot (and the cross compiler) first.
$(CORE_OBJS) $(BUILD)/obj/main.o $(CLIENT_OBJS) $(PLUGINS) $(UNIT_BINS) \
$(TEST_PLUGINS): | $(SYSROOT_STAMP)

deps deps-test: $(SYSROOT_STAMP)

$(SYSROOT_STAMP): tools/sysroot.sh
	@tools/deps.sh cross-$(ARCH)
	@tools/sysroot.sh $(ARCH) $(SYSROOT) $(SYSROOT_SUITE)

.PHONY: sysroot
sysroot: $(SYSROOT_STAMP)

endif
