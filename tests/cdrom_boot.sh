#!/bin/sh
# Firmware boot from the CD: SeaBIOS (Debian's seabios) finds the -cdrom image
# on vmm's virtio-scsi CD-ROM (INQUIRY, READ CAPACITY, READ(10) of the El
# Torito catalogue and boot image) and starts ISOLINUX, whose banner must
# reach COM1 after "Booting from DVD/CD...". Beyond that ISOLINUX may stop (see
# HOST-KVM.md), so the banner is the mark. Then the reference: the same ISO
# and firmware under QEMU (-M pc, the same device: virtio-scsi-pci + scsi-cd,
# SeaBIOS's console on COM1 through etc/sercon-port) must show the same marks
# in the same order (skipped without QEMU).
#
# Kept short for CI (issue 5): each VM is stopped as soon as its banner shows;
# QEMU runs with -smp 1 and ioeventfd=off on the HBA (as vmm answers SeaBIOS's
# 256-target scan on the vCPU thread), and its essentials are kept in
# $VMM_CACHE/cdrom_boot/ under a key made of QEMU's version and the SeaBIOS,
# isolinux and ldlinux files, so QEMU runs once per such combination (a
# fresh clone runs it once). CDROM_BOOT_QEMU=always re-runs it, =never skips it.
# Usage: cdrom_boot.sh path/to/vmm. Exit 0 pass, 1 fail, 77 skip (no
# /dev/kvm, SeaBIOS, xorriso or isolinux).
VMM=${1:?usage: cdrom_boot.sh path/to/vmm}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/fwboot_lib.sh"
BIOS=${FIRMWARE_BOOT_BIOS:-/usr/share/seabios/bios.bin}
ISOLINUX=/usr/lib/ISOLINUX/isolinux.bin
LDLINUX=/usr/lib/syslinux/modules/bios/ldlinux.c32
[ -r "$BIOS" ] || { echo "skip: no $BIOS (apt-get install seabios)"; exit 77; }
[ -c "${VMM_KVM_DEVICE:-/dev/kvm}" ] || { echo "skip: no /dev/kvm"; exit 77; }
command -v xorriso >/dev/null || { echo "skip: no xorriso"; exit 77; }
[ -r $ISOLINUX ] && [ -r $LDLINUX ] || { echo "skip: no isolinux/syslinux-common"; exit 77; }
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill -KILL $pid 2>/dev/null; rm -rf "$tmp"' EXIT
mkdir -p "$tmp/cd/isolinux"
cp $ISOLINUX $LDLINUX "$tmp/cd/isolinux/"
printf 'default x\nlabel x\n kernel /vmlinuz\n' >"$tmp/cd/isolinux/isolinux.cfg"
echo "not a kernel" >"$tmp/cd/vmlinuz"
xorriso -as mkisofs -quiet -o "$tmp/t.iso" -b isolinux/isolinux.bin -c isolinux/boot.cat \
	-no-emul-boot -boot-load-size 4 -boot-info-table -R "$tmp/cd" >"$tmp/xorriso.log" 2>&1 ||
	{ echo "FAIL: xorriso"; cat "$tmp/xorriso.log"; exit 1; }
MARKS="SeaBIOS (version|Booting from DVD/CD...|ISOLINUX 6"

# essentials LOG: the MARKS in LOG's order (fwboot_lib.sh), on stdout.
essentials() {
	IFS='|'
	# shellcheck disable=SC2086
	fw_essentials "$1" $MARKS
	unset IFS
}

# boot NAME CMD...: runs the VM with COM1 in $tmp/NAME.com1 until the
# ISOLINUX banner (or "No bootable device") and stops it, at most
# 240 s; checks the marks.
boot() {
	name=$1
	shift
	"$@" -serial "file:$tmp/$name.com1" </dev/null >"$tmp/$name.out" 2>"$tmp/$name.err" &
	pid=$!
	s=$(date +%s)
	fw_wait "$tmp/$name.com1" 'ISOLINUX 6|No bootable device' $pid 240
	fw_stop $pid
	pid=
	echo "$name: $(($(date +%s) - s)) s"
	IFS='|'
	# shellcheck disable=SC2086
	if ! fw_marks "$name COM1" "$tmp/$name.com1" $MARKS; then
		unset IFS
		fw_transcript "$name COM1" "$tmp/$name.com1"
		echo "---- $name stderr:"; cat "$tmp/$name.err"
		exit 1
	fi
	unset IFS
}

boot vmm "$VMM" -m 128M -bios "$BIOS" -cdrom "$tmp/t.iso" -boot order=d
essentials "$tmp/vmm.com1" >"$tmp/vmm.ess"

qemu=$(command -v qemu-system-x86_64)
if [ -z "$qemu" ] || [ "${CDROM_BOOT_QEMU:-}" = never ]; then
	echo "cdrom boot: pass (QEMU comparison skipped: ${qemu:+CDROM_BOOT_QEMU=never}${qemu:-no qemu-system-x86_64})"
	exit 0
fi
# The QEMU reference's cache key: what decides its transcript.
key=$({ "$qemu" --version | head -1; cat "$BIOS" $ISOLINUX $LDLINUX; echo "$MARKS"; } | md5sum | cut -c1-16)
cache=${VMM_CACHE:-$HOME/.cache/vmm}/cdrom_boot
ref="$cache/qemu-$key.ess"
if [ -s "$ref" ] && [ "${CDROM_BOOT_QEMU:-}" != always ]; then
	echo "QEMU reference: $ref (recorded earlier for this QEMU, SeaBIOS and isolinux)"
	cp "$ref" "$tmp/qemu.ess"
else
	fw_sercon "$tmp/sercon"
	boot qemu "$qemu" -M pc -enable-kvm -smp 1 -m 128M -bios "$BIOS" -nodefaults -display none \
		-device virtio-scsi-pci,id=scsi0,ioeventfd=off \
		-drive "file=$tmp/t.iso,if=none,id=cd0,media=cdrom,format=raw,readonly=on" \
		-device scsi-cd,drive=cd0,bus=scsi0.0 -boot order=d \
		-fw_cfg "name=etc/sercon-port,file=$tmp/sercon"
	essentials "$tmp/qemu.com1" >"$tmp/qemu.ess"
	mkdir -p "$cache" 2>/dev/null && cp "$tmp/qemu.ess" "$ref.$$" 2>/dev/null && mv "$ref.$$" "$ref" &&
		echo "QEMU reference recorded in $ref"
fi
if ! cmp -s "$tmp/vmm.ess" "$tmp/qemu.ess"; then
	echo "FAIL: the essential serial marks differ between vmm (<) and QEMU (>):"
	diff "$tmp/vmm.ess" "$tmp/qemu.ess"
	exit 1
fi
echo "essentials (vmm = QEMU):"
sed 's/^/  | /' "$tmp/vmm.ess"
echo "cdrom boot: pass (vmm and QEMU)"
