#!/bin/sh
# gpio-sim for a Debian kernel built without it (Debian 12's 6.1 has no
# CONFIG_GPIO_SIM, nor the CONFIG_IRQ_SIM it needs), built out of tree in
# the image's own chroot from Debian's linux-source, installed in
# /lib/modules/KVER/updates/, and the build tools removed again.
# usage: tests/vm/gpio-sim-oot.sh ROOT     (an mmdebstrap customize hook
#                                          of tests/vm/image.sh, on the host)
#
# Three files of the kernel's source: drivers/gpio/gpio-sim.c,
# drivers/gpio/gpiolib.h (gpio-sim looks at struct gpio_desc) and
# kernel/irq/irq_sim.c, built as two modules, gpio-sim.ko and irq_sim.ko.
# irq_sim.c is meant to be built in: it calls handle_simple_irq(irq_to_desc())
# and irq_to_desc() is not exported, so it calls generic_handle_irq(),
# which runs the same handler (irq_sim maps every interrupt to
# handle_simple_irq), and it gets the MODULE_LICENSE a module needs.
set -eu
root=${1:?usage: $0 ROOT}

kver=$(ls "$root/lib/modules" | sort -V | tail -n 1)
series=$(echo "$kver" | cut -d. -f1-2)
build="gcc make xz-utils linux-headers-$kver linux-source-$series"
echo "picmd-vm: building gpio-sim for $kver out of tree (linux-source-$series)" >&2

# Installed into the image's root, removed below; nothing else changes.
chroot "$root" dpkg-query -W -f '${Package}\n' | sort >"$root/tmp/pkgs.before"
chroot "$root" env DEBIAN_FRONTEND=noninteractive \
	apt-get install -y -q --no-install-recommends $build >&2

cat >"$root/tmp/build-gpio-sim.sh" <<'EOF'
set -eu
kver=$1 series=$2
dir=/tmp/gpio-sim
rm -rf "$dir"
mkdir -p "$dir"
cd "$dir"
tar -xf "/usr/src/linux-source-$series.tar.xz" --strip-components=1 \
	"linux-source-$series/drivers/gpio/gpio-sim.c" \
	"linux-source-$series/drivers/gpio/gpiolib.h" \
	"linux-source-$series/kernel/irq/irq_sim.c"
mv drivers/gpio/gpio-sim.c drivers/gpio/gpiolib.h kernel/irq/irq_sim.c .
grep -q 'handle_simple_irq(irq_to_desc(irqnum))' irq_sim.c
sed -i 's/handle_simple_irq(irq_to_desc(irqnum))/generic_handle_irq(irqnum)/' irq_sim.c
printf '\nMODULE_LICENSE("GPL");\nMODULE_DESCRIPTION("interrupt simulator (out of tree, for gpio-sim)");\n' >>irq_sim.c
echo 'obj-m := gpio-sim.o irq_sim.o' >Kbuild
make -C "/lib/modules/$kver/build" M="$dir" modules
mkdir -p "/lib/modules/$kver/updates"
install -m 0644 gpio-sim.ko irq_sim.ko "/lib/modules/$kver/updates/"
depmod "$kver"
modinfo -F depends "/lib/modules/$kver/updates/gpio-sim.ko"
EOF
chroot "$root" sh /tmp/build-gpio-sim.sh "$kver" "$series" >&2
rm -rf "$root/tmp/build-gpio-sim.sh" "$root/tmp/gpio-sim"

chroot "$root" dpkg-query -W -f '${Package}\n' | sort >"$root/tmp/pkgs.after"
added=$(comm -13 "$root/tmp/pkgs.before" "$root/tmp/pkgs.after")
rm -f "$root/tmp/pkgs.before" "$root/tmp/pkgs.after"
# shellcheck disable=SC2086
chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q $added >&2
chroot "$root" apt-get clean
rm -rf "$root"/usr/src/linux-*
