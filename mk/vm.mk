# The VM leg (docs/TESTING.md): the package, the hardened unit under
# systemd as PID 1 and the GPIO chip backend on a real kernel gpio-sim
# chip, in Debian guests under qemu-system-x86_64 (TCG, no KVM needed).
#
#   make test-vm                 both guests, side by side
#   make test-vm VM=trixie       Debian 13, trixie-backports kernel
#   make test-vm VM=bookworm     Debian 12, its 6.1 kernel, gpio-sim
#                                built out of tree
#
# Images and packages are cached in build/vm/ (tests/vm/image.sh,
# tests/vm/build-deb.sh); each run boots a fresh -snapshot of the image.
# Needs root; installs qemu and mmdebstrap when missing
# (tools/deps.sh vm).  PICMD_VM_DEB=path tests that package instead of
# building one (with a single VM=).

VM		?= trixie bookworm
VM_CPUS		?=
VM_MEM		?= 1024

.PHONY: test-vm
test-vm:
	@tools/deps.sh vm
	@tests/vm/run.py $(foreach s,$(VM),--suite $(s)) $(if $(VM_CPUS),--cpus $(VM_CPUS)) --mem $(VM_MEM)
