#!/bin/sh
# Firmware boot from the CD: SeaBIOS (Debian's seabios) finds the -cdrom image
# on vmm's virtio-scsi CD-ROM (INQUIRY, READ CAPACITY, READ(10) of the El
# Torito catalogue and boot image) and starts ISOLINUX, whose banner must
# reach COM1 with "Booting from DVD/CD...". Beyond that ISOLINUX may stop (see
# HOST-KVM.md), so the banner is the mark. Usage: cdrom_boot.sh path/to/vmm,
# or cdrom_boot.sh qemu for the same run under QEMU (-M pc, virtio-scsi-pci +
# scsi-cd), the reference whose COM1 must show the same marks.
# Exit 0 pass, 1 fail, 77 skip (no /dev/kvm, SeaBIOS, xorriso or isolinux).
VMM=${1:?usage: cdrom_boot.sh path/to/vmm}
BIOS=${FIRMWARE_BOOT_BIOS:-/usr/share/seabios/bios.bin}
ISOLINUX=/usr/lib/ISOLINUX/isolinux.bin
LDLINUX=/usr/lib/syslinux/modules/bios/ldlinux.c32
[ -r "$BIOS" ] || { echo "skip: no $BIOS (apt-get install seabios)"; exit 77; }
[ -c "${VMM_KVM_DEVICE:-/dev/kvm}" ] || { echo "skip: no /dev/kvm"; exit 77; }
command -v xorriso >/dev/null || { echo "skip: no xorriso"; exit 77; }
[ -r $ISOLINUX ] && [ -r $LDLINUX ] || { echo "skip: no isolinux/syslinux-common"; exit 77; }
tmp=$(mktemp -d)
trap 'kill -KILL $pid 2>/dev/null; rm -rf "$tmp"' EXIT
mkdir -p "$tmp/cd/isolinux"
cp $ISOLINUX $LDLINUX "$tmp/cd/isolinux/"
printf 'default x\nlabel x\n kernel /vmlinuz\n' >"$tmp/cd/isolinux/isolinux.cfg"
echo "not a kernel" >"$tmp/cd/vmlinuz"
xorriso -as mkisofs -quiet -o "$tmp/t.iso" -b isolinux/isolinux.bin -c isolinux/boot.cat \
	-no-emul-boot -boot-load-size 4 -boot-info-table -R "$tmp/cd" >"$tmp/xorriso.log" 2>&1 ||
	{ echo "FAIL: xorriso"; cat "$tmp/xorriso.log"; exit 1; }
if [ "$VMM" = qemu ]; then
	# The reference: QEMU with the same firmware and the same device
	# (virtio-scsi-pci + scsi-cd), SeaBIOS's console on COM1 via sercon-port.
	command -v qemu-system-x86_64 >/dev/null || { echo "skip: no qemu-system-x86_64"; exit 77; }
	printf '\370\003' >"$tmp/sercon"   # 0x3f8, little-endian, as SeaBIOS's romfile_loadint reads it
	qemu-system-x86_64 -M pc -enable-kvm -m 128M -bios "$BIOS" -nodefaults -display none \
		-device virtio-scsi-pci,id=scsi0 -drive "file=$tmp/t.iso,if=none,id=cd0,media=cdrom,format=raw,readonly=on" \
		-device scsi-cd,drive=cd0,bus=scsi0.0 -boot order=d \
		-fw_cfg "name=etc/sercon-port,file=$tmp/sercon" -serial "file:$tmp/com1" \
		</dev/null >"$tmp/out" 2>"$tmp/err" &
else
	"$VMM" -m 128M -bios "$BIOS" -cdrom "$tmp/t.iso" -boot order=d -serial "file:$tmp/com1" \
		</dev/null >"$tmp/out" 2>"$tmp/err" &
fi
pid=$!
i=0
while [ $i -lt 240 ]; do
	grep -q "ISOLINUX\|No bootable device" "$tmp/com1" 2>/dev/null && break
	kill -0 $pid 2>/dev/null || break
	sleep 1
	i=$((i + 1))
done
sleep 2
kill -TERM $pid 2>/dev/null; sleep 1; kill -TERM $pid 2>/dev/null; sleep 1; kill -KILL $pid 2>/dev/null
fail=0
for want in "SeaBIOS (version" "Booting from DVD/CD..." "ISOLINUX 6"; do
	if grep -qF "$want" "$tmp/com1"; then
		echo "ok: COM1 shows '$want'"
	else
		echo "FAIL: COM1 lacks '$want'"
		fail=1
	fi
done
if [ $fail -ne 0 ]; then
	echo "---- COM1:"; tr -d '\033' <"$tmp/com1" | head -c 3000; echo
	echo "---- stderr:"; cat "$tmp/err"
	exit 1
fi
echo "cdrom boot: pass"
