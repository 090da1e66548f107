# Installing, the Debian package, and the checks of the systemd units
# (docs/SERVICE.md).
#
#   make install [PREFIX=/usr/local] [DESTDIR=]   build, then install
#   make install-files                             install what is built
#   make uninstall [PREFIX=...] [DESTDIR=...]      remove what install added
#   make deb        build/deb/picmd_$(VERSION)+debN_<arch>.deb (dpkg-buildpackage)
#   make check-systemd   systemd-analyze verify and security on the units
#
# PREFIX (default /usr/local) places the programs, plugins, header and man
# pages; the configuration is always $(sysconfdir)/picmd/picmd.ini
# (/etc/picmd/picmd.ini, the daemon's default) and is never overwritten.
# The systemd files go where systemd looks for them:
#
#   PREFIX=/usr         pkg-config systemd's directories (Debian 12:
#                       /lib/systemd/system, /usr/lib/sysusers.d, ...)
#   PREFIX=/usr/local   /usr/local/lib/systemd/system, .../sysusers.d, ...
#                       (systemd searches those too; /etc/systemd/system
#                       stays the administrator's)
#   any other PREFIX    /etc/systemd/system, /etc/sysusers.d, /etc/tmpfiles.d
#
# The udev rules giving /dev/gpiochip*, /dev/i2c-* and /dev/spidev* to
# groups gpio, i2c and spi (systemd/picmd.udev) go to udev's own rules directory beside the units' (/lib/udev/rules.d
# on Debian 12, /usr/lib/udev/rules.d on 13) with PREFIX=/usr, and to
# /etc/udev/rules.d otherwise (udev does not look in /usr/local).
#
# The Python package (python/picmd, docs/PYTHON.md) goes to Debian's
# /usr/lib/python3/dist-packages with PREFIX=/usr, and to
# $(PREFIX)/lib/python3.N/dist-packages otherwise (where Debian's python3
# looks under /usr/local), with a dist-info naming its gpiozero pin
# factory entry point.
#
# Each directory can be set on the command line: bindir sbindir plugindir
# includedir mandir sysconfdir systemdsystemunitdir sysusersdir tmpfilesdir
# udevrulesdir pythondir.
#
# Without DESTDIR, as root, install also creates the picmd user
# (systemd-sysusers), /run/picmd (systemd-tmpfiles), applies the udev
# rules to the devices already there and reloads systemd; it enables
# nothing.  uninstall stops and disables the units first, and
# leaves the picmd user and group (userdel picmd removes them).

bindir		?= $(PREFIX)/bin
sbindir		?= $(PREFIX)/sbin
plugindir	?= $(PREFIX)/lib/picmd/commands
includedir	?= $(PREFIX)/include
mandir		?= $(PREFIX)/share/man
sysconfdir	?= /etc
INSTALL		?= install
PYTHON3		?= /usr/bin/python3
ifeq ($(PREFIX),/usr)
pythondir	?= /usr/lib/python3/dist-packages
else
pythondir	?= $(PREFIX)/lib/$(shell $(PYTHON3) -c 'import sys; print("python%d.%d" % sys.version_info[:2])' 2>/dev/null || echo python3)/dist-packages
endif
PY_SRCS		:= $(wildcard python/picmd/*.py)
PY_DISTINFO	:= $(pythondir)/picmd-$(VERSION).dist-info

ifeq ($(PREFIX),/usr)
systemd_var	= $(or $(shell $(PKG_CONFIG) --variable=$(1) systemd 2>/dev/null),$(2))
SYSTEMD_DIRS	:= $(call systemd_var,systemdsystemunitdir,/lib/systemd/system) \
		   $(call systemd_var,sysusersdir,/usr/lib/sysusers.d) \
		   $(call systemd_var,tmpfilesdir,/usr/lib/tmpfiles.d)
else ifeq ($(PREFIX),/usr/local)
SYSTEMD_DIRS	:= /usr/local/lib/systemd/system /usr/local/lib/sysusers.d \
		   /usr/local/lib/tmpfiles.d
else
SYSTEMD_DIRS	:= /etc/systemd/system /etc/sysusers.d /etc/tmpfiles.d
endif
systemdsystemunitdir ?= $(word 1,$(SYSTEMD_DIRS))
sysusersdir	?= $(word 2,$(SYSTEMD_DIRS))
tmpfilesdir	?= $(word 3,$(SYSTEMD_DIRS))
ifeq ($(PREFIX),/usr)
udevrulesdir	?= $(if $(filter /lib/%,$(systemdsystemunitdir)),/lib,/usr/lib)/udev/rules.d
else
udevrulesdir	?= /etc/udev/rules.d
endif

# The installed files whose content depends on the directories above.
INSTALL_SED	:= sed -e 's|/usr/sbin/picmdd|$(sbindir)/picmdd|g' \
		   -e 's|/etc/picmd/|$(sysconfdir)/picmd/|g' \
		   -e 's|@PLUGINDIR@|$(plugindir)|g'
PICMD_CONF	:= $(DESTDIR)$(sysconfdir)/picmd/picmd.ini

# The compiled-in plugin directory is $(PREFIX)/lib/picmd/commands: a
# PREFIX other than the one the build was made with rebuilds config.o.
# $(BUILD)/.prefix records it and is rewritten (while the makefiles are
# read, so that "make -n" shows the truth) only when PREFIX changes, and
# not by the goals that never compile (install-files copies a build as it
# is, whatever PREFIX says).
PREFIX_STAMP	:= $(BUILD)/.prefix
PREFIX_KEEP_GOALS := install-files uninstall deb deps-deb clean
ifneq ($(filter-out $(PREFIX_KEEP_GOALS),$(or $(MAKECMDGOALS),all)),)
ifneq ($(shell cat $(PREFIX_STAMP) 2>/dev/null),$(PREFIX))
$(shell mkdir -p $(BUILD) && echo '$(PREFIX)' > $(PREFIX_STAMP))
endif
endif
$(PREFIX_STAMP):
	@mkdir -p $(@D)
	echo '$(PREFIX)' > $@
$(BUILD)/obj/config.o: $(PREFIX_STAMP)

.PHONY: install install-files uninstall deb check-systemd deps-deb

define install_files
	@# The user and group first: udev resolves the group a rule names
	@# when it reads the rule, which may be as soon as it is copied.
	@if [ -z '$(DESTDIR)' ] && [ "$$(id -u)" = 0 ] && \
	    command -v systemd-sysusers >/dev/null 2>&1; then \
		systemd-sysusers $(CURDIR)/systemd/picmd.sysusers; fi
	$(INSTALL) -d -m 0755 $(DESTDIR)$(sbindir) $(DESTDIR)$(bindir) \
		$(DESTDIR)$(plugindir) $(DESTDIR)$(includedir)/picmd \
		$(DESTDIR)$(mandir)/man1 $(DESTDIR)$(mandir)/man8 \
		$(DESTDIR)$(sysconfdir)/picmd $(DESTDIR)$(systemdsystemunitdir) \
		$(DESTDIR)$(sysusersdir) $(DESTDIR)$(tmpfilesdir) \
		$(DESTDIR)$(udevrulesdir)
	$(INSTALL) -m 0755 $(BUILD)/picmdd $(DESTDIR)$(sbindir)/picmdd
	$(INSTALL) -m 0755 $(BUILD)/picmd $(DESTDIR)$(bindir)/picmd
	$(INSTALL) -m 0644 $(PLUGINS) $(DESTDIR)$(plugindir)/
	$(INSTALL) -m 0644 include/picmd/plugin.h $(DESTDIR)$(includedir)/picmd/
	$(INSTALL) -m 0644 docs/picmd.1 $(DESTDIR)$(mandir)/man1/
	$(INSTALL) -m 0644 docs/picmdd.8 $(DESTDIR)$(mandir)/man8/
	$(INSTALL) -d -m 0755 $(DESTDIR)$(pythondir)/picmd $(DESTDIR)$(PY_DISTINFO)
	$(INSTALL) -m 0644 $(PY_SRCS) $(DESTDIR)$(pythondir)/picmd/
	printf 'Metadata-Version: 2.1\nName: picmd\nVersion: %s\nSummary: %s\nRequires-Python: >=3.9\n' \
		'$(VERSION)' 'Client library and gpiozero pin factory for picmd' \
		> $(DESTDIR)$(PY_DISTINFO)/METADATA
	printf '[gpiozero_pin_factories]\npicmd = picmd.gpiozero:PicmdFactory\n' \
		> $(DESTDIR)$(PY_DISTINFO)/entry_points.txt
	$(INSTALL_SED) systemd/picmd.service > $(DESTDIR)$(systemdsystemunitdir)/picmd.service
	$(INSTALL_SED) systemd/picmd.socket > $(DESTDIR)$(systemdsystemunitdir)/picmd.socket
	chmod 0644 $(DESTDIR)$(systemdsystemunitdir)/picmd.service \
		$(DESTDIR)$(systemdsystemunitdir)/picmd.socket
	$(INSTALL) -m 0644 systemd/picmd.sysusers $(DESTDIR)$(sysusersdir)/picmd.conf
	$(INSTALL) -m 0644 systemd/picmd.tmpfiles $(DESTDIR)$(tmpfilesdir)/picmd.conf
	$(INSTALL) -m 0644 systemd/picmd.udev $(DESTDIR)$(udevrulesdir)/60-picmd.rules
	@if [ -e $(PICMD_CONF) ]; then \
		echo "picmd: kept the existing $(PICMD_CONF)"; \
	else \
		echo "$(INSTALL_SED) config/picmd.ini.in > $(PICMD_CONF)"; \
		$(INSTALL_SED) config/picmd.ini.in > $(PICMD_CONF).tmp && \
		chmod 0644 $(PICMD_CONF).tmp && \
		mv $(PICMD_CONF).tmp $(PICMD_CONF); \
	fi
	@if [ -z '$(DESTDIR)' ] && [ "$$(id -u)" = 0 ]; then \
		if command -v systemd-tmpfiles >/dev/null 2>&1; then \
			systemd-tmpfiles --create $(tmpfilesdir)/picmd.conf; fi; \
		if [ -S /run/udev/control ]; then \
			udevadm control --reload && \
			udevadm trigger --subsystem-match=gpio \
				--subsystem-match=i2c-dev --subsystem-match=spidev \
				--action=change; fi; \
		if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi; \
		echo "picmd: installed; start it with: systemctl enable --now picmd"; \
	fi
endef

install: all
	$(install_files)

# What "make install" copies, without building first (the tests use it
# on a build they already have).
install-files:
	$(install_files)

# The configuration goes only when it is still the one install wrote (as
# dpkg does with an unchanged conffile); /etc/picmd stays if not empty, and
# so do other directories that are not empty.
uninstall:
	@if [ -z '$(DESTDIR)' ] && [ -d /run/systemd/system ]; then \
		systemctl disable --now picmd.socket picmd.service 2>/dev/null || true; fi
	rm -f $(DESTDIR)$(sbindir)/picmdd $(DESTDIR)$(bindir)/picmd
	rm -f $(addprefix $(DESTDIR)$(plugindir)/,$(notdir $(PLUGINS)))
	rmdir $(DESTDIR)$(plugindir) \
		$(DESTDIR)$(patsubst %/,%,$(dir $(plugindir))) 2>/dev/null || true
	rm -f $(DESTDIR)$(includedir)/picmd/plugin.h
	rmdir $(DESTDIR)$(includedir)/picmd 2>/dev/null || true
	rm -f $(DESTDIR)$(mandir)/man1/picmd.1 $(DESTDIR)$(mandir)/man8/picmdd.8
	rm -rf $(DESTDIR)$(pythondir)/picmd $(DESTDIR)$(PY_DISTINFO)
	rmdir -p $(DESTDIR)$(pythondir) 2>/dev/null || true
	rm -f $(DESTDIR)$(systemdsystemunitdir)/picmd.service \
		$(DESTDIR)$(systemdsystemunitdir)/picmd.socket \
		$(DESTDIR)$(sysusersdir)/picmd.conf $(DESTDIR)$(tmpfilesdir)/picmd.conf \
		$(DESTDIR)$(udevrulesdir)/60-picmd.rules
	@if [ ! -e $(PICMD_CONF) ]; then :; \
	elif $(INSTALL_SED) config/picmd.ini.in | cmp -s - $(PICMD_CONF); then \
		echo "rm -f $(PICMD_CONF)"; rm -f $(PICMD_CONF); \
	else \
		echo "picmd: kept $(PICMD_CONF): it was changed since install"; \
	fi
	rmdir $(DESTDIR)$(sysconfdir)/picmd 2>/dev/null || true
	@# Directories install may have made, when they are empty now.
	rmdir $(DESTDIR)$(systemdsystemunitdir) \
		$(DESTDIR)$(patsubst %/,%,$(dir $(systemdsystemunitdir))) \
		$(DESTDIR)$(sysusersdir) $(DESTDIR)$(tmpfilesdir) \
		$(DESTDIR)$(mandir)/man1 $(DESTDIR)$(mandir)/man8 2>/dev/null || true
	@if [ '$(udevrulesdir)' != /etc/udev/rules.d ]; then \
		rmdir $(DESTDIR)$(udevrulesdir) $(DESTDIR)$(dir $(udevrulesdir)) 2>/dev/null || true; fi
	@if [ -z '$(DESTDIR)' ]; then rmdir /run/picmd 2>/dev/null || true; fi
	@if [ -z '$(DESTDIR)' ] && [ -d /run/systemd/system ]; then \
		systemctl daemon-reload; fi
	@if [ -z '$(DESTDIR)' ] && getent passwd picmd >/dev/null 2>&1; then \
		echo "picmd: left the picmd user and group (userdel picmd removes them)"; fi

# ---- the Debian package ----------------------------------------------------
#
# dpkg-buildpackage runs in a copy of the tree (build/deb/picmd-VERSION/),
# so its "make clean" never touches this tree's build/; the .deb, .changes
# and .buildinfo land in build/deb/.  lintian runs when it is installed.

DEB_DIR		:= build/deb
DEB_SRC		:= $(DEB_DIR)/picmd-$(VERSION)
# The package's version says which Debian release it was built for
# (0.1.0+deb12, 0.1.0+deb13): the two differ in their dependencies
# (libgpiod2 or libgpiod3) and where the units go.  No suffix on a
# release without a number (testing, unstable).
DEB_RELEASE	:= $(shell . /etc/os-release 2>/dev/null && echo "$$VERSION_ID" | tr -cd 0-9)
DEB_SUFFIX	:= $(if $(DEB_RELEASE),+deb$(DEB_RELEASE))

deps-deb:
	@tools/deps.sh deb

deb: deps-deb
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_SRC)
	tar -cf - --exclude=./build --exclude=./.git --exclude=__pycache__ . | \
		tar -xf - -C $(DEB_SRC)
	sed -i '1s/^picmd (\([^)]*\))/picmd (\1$(DEB_SUFFIX))/' \
		$(DEB_SRC)/debian/changelog
	cd $(DEB_SRC) && dpkg-buildpackage -us -uc -b
	@ls -1 $(DEB_DIR)/*.deb
	@if command -v lintian >/dev/null 2>&1; then \
		echo "lintian $(DEB_DIR)/*.changes"; \
		lintian --display-info --fail-on error,warning $(DEB_DIR)/*.changes; \
	else echo "picmd: lintian is not installed; skipped"; fi

# ---- checks of the units -----------------------------------------------------
#
# systemd-analyze security: the exposure of systemd/picmd.service must not
# exceed SYSTEMD_MAX_EXPOSURE (1.2; it is 1.1).  systemd-analyze verify
# runs on the units as "make install" writes them, with every drop-in of
# systemd/dropins/, and must print nothing.  Skipped where systemd-analyze
# is missing.  tests/install/check-systemd.sh has the details.

SYSTEMD_MAX_EXPOSURE ?= 1.2

check-systemd: all
	@tests/install/check-systemd.sh $(SYSTEMD_MAX_EXPOSURE) \
		"$(MAKE) --no-print-directory BUILD=$(BUILD)"
