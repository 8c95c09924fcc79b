#!/bin/sh
# Direct ISO boot (-kernel-from-iso) through vmm: an ISO made with xorriso and
# Debian's isolinux holding the Linux test kernel and initramfs
# (guest-tests/linux/build.sh) under a Debian-installer-like isolinux.cfg
# (INCLUDE, DEFAULT vesamenu.c32, MENU DEFAULT, APPEND initrd=). The serial
# console must show the kernel banner, the configured command line with
# console=ttyS0 added, and the initramfs's markers (initrd read from the ISO);
# the CD stays attached as virtio-scsi. Usage: iso_boot.sh path/to/vmm.
# Exit 0 pass, 1 fail, 77 skip (no /dev/kvm, xorriso, isolinux or test kernel).
VMM=${1:?usage: iso_boot.sh path/to/vmm}
here=$(cd "$(dirname "$0")" && pwd)
[ -c "${VMM_KVM_DEVICE:-/dev/kvm}" ] || { echo "skip: no /dev/kvm"; exit 77; }
command -v xorriso >/dev/null || { echo "skip: no xorriso"; exit 77; }
ISOLINUX=/usr/lib/ISOLINUX/isolinux.bin
LDLINUX=/usr/lib/syslinux/modules/bios/ldlinux.c32
[ -r $ISOLINUX ] && [ -r $LDLINUX ] || { echo "skip: no isolinux/syslinux-common"; exit 77; }
paths=$(sh "$here/../guest-tests/linux/build.sh" --paths 2>/dev/null) || { echo "skip: test kernel not built"; exit 77; }
eval "$paths"
tmp=$(mktemp -d)
trap 'kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT
mkdir -p "$tmp/cd/isolinux" "$tmp/cd/install.amd"
cp $ISOLINUX $LDLINUX "$tmp/cd/isolinux/"
cp "$BZIMAGE" "$tmp/cd/install.amd/vmlinuz"
cp "$INITRD" "$tmp/cd/install.amd/initrd.gz"
cat >"$tmp/cd/isolinux/isolinux.cfg" <<'CFG'
# like Debian's: the menu module is the DEFAULT, the entry is MENU DEFAULT
path
include menu.cfg
default vesamenu.c32
prompt 0
timeout 0
CFG
cat >"$tmp/cd/isolinux/menu.cfg" <<'CFG'
menu title vmm test installer
label rescue
	menu label ^Rescue
	kernel /install.amd/vmlinuz
	append rescue/enable=true initrd=/install.amd/initrd.gz
label install
	menu label ^Install
	menu default
	kernel /install.amd/vmlinuz
	append vmm_iso_test=42 initrd=/install.amd/initrd.gz ---
CFG
xorriso -as mkisofs -quiet -o "$tmp/test.iso" -b isolinux/isolinux.bin -c isolinux/boot.cat \
	-no-emul-boot -boot-load-size 4 -boot-info-table -R -J -V VMMTEST "$tmp/cd" >"$tmp/xorriso.log" 2>&1 ||
	{ echo "FAIL: xorriso"; cat "$tmp/xorriso.log"; exit 1; }
"$VMM" -m 256M -cdrom "$tmp/test.iso" -kernel-from-iso -nographic -no-reboot \
	</dev/null >"$tmp/out" 2>"$tmp/err" &
pid=$!
i=0
while [ $i -lt ${ISO_BOOT_TIMEOUT:-400} ]; do
	grep -q "VMM-INIT-DONE" "$tmp/out" 2>/dev/null && break
	kill -0 $pid 2>/dev/null || break
	sleep 1
	i=$((i + 1))
done
# the init powers off: vmm ends by itself
j=0
while kill -0 $pid 2>/dev/null && [ $j -lt 30 ]; do sleep 1; j=$((j + 1)); done
kill -TERM $pid 2>/dev/null; sleep 1; kill -KILL $pid 2>/dev/null
wait $pid
rc=$?
fail=0
for want in "Linux version" "Command line: vmm_iso_test=42 --- console=ttyS0" "VMM-INIT-OK" "VMM-INIT-DONE"; do
	if grep -qF -- "$want" "$tmp/out"; then
		echo "ok: serial shows '$want'"
	else
		echo "FAIL: serial lacks '$want'"
		fail=1
	fi
done
if grep -q "rescue/enable" "$tmp/out"; then
	echo "FAIL: booted the first label, not MENU DEFAULT"
	fail=1
fi
if [ "$rc" -ne 0 ]; then
	echo "FAIL: vmm exit status $rc"
	fail=1
fi
if [ $fail -ne 0 ]; then
	echo "---- serial:"; tail -c 4000 "$tmp/out"; echo
	echo "---- stderr:"; cat "$tmp/err"
	exit 1
fi
echo "iso boot: pass"
