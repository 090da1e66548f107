#!/bin/sh
# The guest's own configuration, applied to the image's root ROOT by
# tests/vm/image.sh (an mmdebstrap customize hook, run on the host).
# usage: tests/vm/guest-config.sh ROOT
#
# Root on /dev/vda; the host's 9p share (mount tag "picmd") on
# /mnt/share; a static address on qemu's user network (10.0.2.15, the
# host is 10.0.2.2: no DHCP, no DNS, no route out of the VM anyway);
# picmd-vmtest.service runs /mnt/share/guest.sh once the system is up
# and powers the guest off when it ends, whatever happened.
set -eu
root=${1:?usage: $0 ROOT}

echo picmd-vm >"$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tpicmd-vm\n' >"$root/etc/hosts"
cat >"$root/etc/fstab" <<'EOF'
/dev/vda	/		ext4	rw,errors=remount-ro	0 1
picmd	/mnt/share	9p	trans=virtio,version=9p2000.L,msize=262144,nofail	0 0
EOF
mkdir -p "$root/mnt/share"

mkdir -p "$root/etc/systemd/network"
cat >"$root/etc/systemd/network/50-qemu.network" <<'EOF'
[Match]
Name=en* eth*

[Network]
Address=10.0.2.15/24
LinkLocalAddressing=no
IPv6AcceptRA=no
EOF

cat >"$root/etc/systemd/system/picmd-vmtest.service" <<'EOF'
[Unit]
Description=picmd VM test (tests/vm/guest.sh from the host's share)
After=multi-user.target
RequiresMountsFor=/mnt/share
SuccessAction=poweroff-force
FailureAction=poweroff-force

[Service]
Type=oneshot
ExecStart=/bin/bash /mnt/share/guest.sh
TimeoutStartSec=20min
StandardOutput=journal+console
StandardError=journal+console

[Install]
WantedBy=multi-user.target
EOF

# Journal in memory: nothing to flush at power-off.
mkdir -p "$root/etc/systemd/journald.conf.d"
printf '[Journal]\nStorage=volatile\n' >"$root/etc/systemd/journald.conf.d/picmd-vm.conf"

chroot "$root" systemctl enable systemd-networkd.service picmd-vmtest.service
# Nothing that would compete with the test for the two slow CPUs.
chroot "$root" systemctl mask apt-daily.timer apt-daily-upgrade.timer \
	e2scrub_all.timer e2scrub_reap.service fstrim.timer \
	systemd-networkd-wait-online.service getty@tty1.service \
	>/dev/null 2>&1 || true
# The package is installed from the share, offline.
rm -f "$root"/var/cache/apt/archives/*.deb
