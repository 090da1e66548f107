# Another Debian release, natively: a fresh root of it made with
# mmdebstrap (tools/suite-root.sh, cached in build/suite/), this tree
# copied in, and there, as on a new machine with only git and make:
#
#   make test-suite SUITE=trixie    make test, make deb, and the package
#                                   installed, checked and purged
#                                   (tests/install/check-package.sh)
#   make test-suite SUITE=bookworm SUITE_CMD='make deb && ...'
#                                   any command instead
#
# Needs root (chroot, mounts in a private namespace); tools/suite-test.sh
# has the details.

SUITE_CMD	?=
export SUITE_CMD

.PHONY: test-suite
test-suite:
	@test -n '$(SUITE)' || { echo "picmd: make test-suite needs SUITE=bookworm|trixie" >&2; exit 2; }
	@tools/deps.sh suite-root
	tools/suite-test.sh $(SUITE)
