#!/bin/sh
# Firmware boot from the CD: SeaBIOS (Debian's seabios) finds the -cdrom image
# on vmm's virtio-scsi CD-ROM (INQUIRY, READ CAPACITY, READ(10) of the El
# Torito catalogue and boot image) and starts ISOLINUX, whose banner must
# reach COM1 after "Booting from DVD/CD...". Beyond that ISOLINUX may stop (see
# HOST-KVM.md), so the banner is the mark. Then the reference: the same ISO
# and firmware under QEMU (-M pc, the same device: virtio-scsi-pci + scsi-cd,
# SeaBIOS's console on COM1 through etc/sercon-port) must show the same marks
# in the same order (skipped without QEMU). Usage: cdrom_boot.sh path/to/vmm.
# Exit 0 pass, 1 fail, 77 skip (no /dev/kvm, SeaBIOS, xorriso or isolinux).
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

# boot NAME CMD...: runs the VM with COM1 in $tmp/NAME.com1 until the
# ISOLINUX banner (or "No bootable device") and 2 s more, at most 240 s.
boot() {
	name=$1
	shift
	"$@" -serial "file:$tmp/$name.com1" </dev/null >"$tmp/$name.out" 2>"$tmp/$name.err" &
	pid=$!
	s=$(date +%s)
	fw_wait "$tmp/$name.com1" 'ISOLINUX|No bootable device' $pid 240
	sleep 2
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
if ! command -v qemu-system-x86_64 >/dev/null; then
	echo "cdrom boot: pass (QEMU comparison skipped: no qemu-system-x86_64)"
	exit 0
fi
fw_sercon "$tmp/sercon"
boot qemu qemu-system-x86_64 -M pc -enable-kvm -m 128M -bios "$BIOS" -nodefaults -display none \
	-device virtio-scsi-pci,id=scsi0 \
	-drive "file=$tmp/t.iso,if=none,id=cd0,media=cdrom,format=raw,readonly=on" \
	-device scsi-cd,drive=cd0,bus=scsi0.0 -boot order=d \
	-fw_cfg "name=etc/sercon-port,file=$tmp/sercon"
fw_compare "$tmp/vmm.com1" "$tmp/qemu.com1" "$MARKS" || exit 1
echo "cdrom boot: pass (vmm and QEMU)"
