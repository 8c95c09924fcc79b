#!/bin/sh
# Direct ISO boot (-kernel-from-iso) through vmm: an ISO made with xorriso and
# Debian's isolinux holding the Linux test kernel and initramfs
# (guest-tests/linux/build.sh) under a Debian-installer-like isolinux.cfg
# (INCLUDE, DEFAULT vesamenu.c32, MENU DEFAULT, APPEND initrd=). The serial
# console must show the kernel banner, the configured command line with
# console=ttyS0 added, and the initramfs's markers (initrd read from the ISO);
# the CD stays attached as virtio-scsi, and when the test kernel has sr and
# ISO 9660 (config.fragment), /init mounts /dev/sr0 and prints a file of the
# ISO back. Usage: iso_boot.sh path/to/vmm. Each phase prints its duration;
# ISO_BOOT_TIMEOUT (default 600 s) bounds the boot, below ctest's TIMEOUT so
# that a slow or stuck run still prints its transcript.
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
# Under scripts/with-kvm /tmp is the host's over 9p (xorriso took 47 s to
# write the ISO there): then the L1's own memory file systems are used.
tmpbase=${TMPDIR:-/tmp}
if [ "$(stat -f -c %T "$tmpbase" 2>/dev/null)" = v9fs ]; then
	for d in /dev/shm /run /dev; do
		if [ -d $d ] && [ -w $d ] && [ "$(stat -f -c %T $d 2>/dev/null)" != v9fs ]; then
			tmpbase=$d
			break
		fi
	done
fi
tmp=$(mktemp -d "$tmpbase/iso_boot.XXXXXX")
pid=
trap '[ -n "$pid" ] && kill -KILL $pid 2>/dev/null; rm -rf "$tmp"' EXIT
t0=$(date +%s)
phase() { echo "phase: $1 after $(($(date +%s) - t0)) s"; }
mkdir -p "$tmp/cd/isolinux" "$tmp/cd/install.amd"
cp $ISOLINUX $LDLINUX "$tmp/cd/isolinux/"
cp "$BZIMAGE" "$tmp/cd/install.amd/vmlinuz"
cp "$INITRD" "$tmp/cd/install.amd/initrd.gz"
echo "VMM-CD-FILE-7f3a" >"$tmp/cd/vmm-cd.txt"
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
	append vmm_iso_test=42 panic=-1 initrd=/install.amd/initrd.gz ---
CFG
xorriso -as mkisofs -quiet -o "$tmp/test.iso" -b isolinux/isolinux.bin -c isolinux/boot.cat \
	-no-emul-boot -boot-load-size 4 -boot-info-table -R -J -V VMMTEST "$tmp/cd" >"$tmp/xorriso.log" 2>&1 ||
	{ echo "FAIL: xorriso"; cat "$tmp/xorriso.log"; exit 1; }
phase "ISO made"
"$VMM" -m 256M -cdrom "$tmp/test.iso" -kernel-from-iso -nographic -no-reboot \
	</dev/null >"$tmp/out" 2>"$tmp/err" &
pid=$!
i=0
seen_banner=
while [ $i -lt "${ISO_BOOT_TIMEOUT:-600}" ]; do
	if [ -z "$seen_banner" ] && grep -q "Linux version" "$tmp/out" 2>/dev/null; then
		phase "kernel banner"
		seen_banner=1
	fi
	grep -q "VMM-INIT-DONE" "$tmp/out" 2>/dev/null && break
	kill -0 $pid 2>/dev/null || break
	sleep 1
	i=$((i + 1))
done
phase "init done (or gave up)"
# the init powers off: vmm ends by itself
j=0
while kill -0 $pid 2>/dev/null && [ $j -lt 60 ]; do sleep 1; j=$((j + 1)); done
kill -TERM $pid 2>/dev/null; sleep 1; kill -KILL $pid 2>/dev/null
wait $pid
rc=$?
pid=
phase "vmm exited"
fail=0
wants="Linux version|Command line: vmm_iso_test=42 panic=-1 --- console=ttyS0|VMM-INIT-OK|VMM-INIT-DONE"
# A test kernel with virtio-scsi, sr and ISO 9660 must read the CD back.
if grep -q "^CONFIG_BLK_DEV_SR=y" "$(dirname "$here")/guest-tests/linux/config.fragment"; then
	wants="$wants|VMM-SR0-DATA VMM-CD-FILE-7f3a"
fi
IFS='|'
for want in $wants; do
	unset IFS
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
