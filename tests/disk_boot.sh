#!/bin/sh
# Firmware boot from a qcow2 disk: tests/disk_boot/mbr.S (a 512-byte MBR boot
# sector that prints "VMM-MBR-OK drive=0x80" on COM1 and leaves through
# isa-debug-exit with status 85) in a qcow2 image made by vmm-img, booted with
# `vmm -m 64M -hda disk.qcow2 -boot order=c -nographic`: SeaBIOS's banner,
# "Booting from Hard Disk..." and the boot sector's line must reach the serial
# console and vmm must exit 85. Then the same under QEMU (-M pc, same options,
# SeaBIOS's console on COM1 through etc/sercon-port): same exit status and the
# same essential lines in the same order (skipped without QEMU).
# Usage: disk_boot.sh path/to/vmm path/to/vmm-img.
# Exit 0 pass, 1 fail, 77 skip (no /dev/kvm, SeaBIOS, or as/ld).
VMM=${1:?usage: disk_boot.sh path/to/vmm path/to/vmm-img}
IMG=${2:?usage: disk_boot.sh path/to/vmm path/to/vmm-img}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/fwboot_lib.sh"
[ -r /usr/share/seabios/bios-256k.bin ] || { echo "skip: no SeaBIOS (apt-get install seabios)"; exit 77; }
[ -c "${VMM_KVM_DEVICE:-/dev/kvm}" ] || { echo "skip: no /dev/kvm"; exit 77; }
command -v as >/dev/null && command -v ld >/dev/null || { echo "skip: no as/ld (binutils)"; exit 77; }
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill -KILL $pid 2>/dev/null; rm -rf "$tmp"' EXIT
as --32 -o "$tmp/mbr.o" "$here/disk_boot/mbr.S" &&
	ld -m elf_i386 -Ttext 0x7c00 --oformat binary -o "$tmp/mbr.bin" "$tmp/mbr.o" ||
	{ echo "FAIL: assembling the boot sector"; exit 1; }
size=$(wc -c <"$tmp/mbr.bin")
[ "$size" -eq 512 ] || { echo "FAIL: boot sector is $size bytes"; exit 1; }
cp "$tmp/mbr.bin" "$tmp/disk.raw"
truncate -s 1M "$tmp/disk.raw"
"$IMG" convert -f raw -O qcow2 "$tmp/disk.raw" "$tmp/disk.qcow2" ||
	{ echo "FAIL: vmm-img convert"; exit 1; }
OPTS="-m 64M -hda $tmp/disk.qcow2 -boot order=c -nic none -device isa-debug-exit,iobase=0xf4,iosize=4"
MARKS="SeaBIOS (version|Booting from Hard Disk...|VMM-MBR-OK drive=0x80"

# boot NAME CMD...: runs the VM with its serial on stdout into $tmp/NAME.out,
# until it exits (the boot sector's debug-exit) or 240 s; sets $status.
boot() {
	name=$1
	shift
	"$@" </dev/null >"$tmp/$name.out" 2>"$tmp/$name.err" &
	pid=$!
	fw_wait "$tmp/$name.out" 'VMM-MBR-OK' $pid 240
	# the boot sector exits right after its line: give it a moment, then stop
	i=0
	while kill -0 $pid 2>/dev/null && [ $i -lt 10 ]; do sleep 1; i=$((i + 1)); done
	kill -0 $pid 2>/dev/null && fw_stop $pid
	wait $pid
	status=$?
	pid=
}

check() {
	name=$1
	ok=0
	IFS='|'
	# shellcheck disable=SC2086
	fw_marks "$name" "$tmp/$name.out" $MARKS || ok=1
	unset IFS
	if [ "$status" -ne 85 ]; then
		echo "FAIL: $name exit status $status, want 85 (the boot sector's isa-debug-exit 0x2a)"
		ok=1
	fi
	if [ $ok -ne 0 ]; then
		fw_transcript "$name serial" "$tmp/$name.out"
		echo "---- $name stderr:"; cat "$tmp/$name.err"
	fi
	return $ok
}

# shellcheck disable=SC2086
boot vmm "$VMM" $OPTS -nographic
check vmm || exit 1
if ! command -v qemu-system-x86_64 >/dev/null; then
	echo "disk boot: pass (QEMU comparison skipped: no qemu-system-x86_64)"
	exit 0
fi
fw_sercon "$tmp/sercon"
# shellcheck disable=SC2086
boot qemu qemu-system-x86_64 -M pc -enable-kvm $OPTS -display none -serial stdio -monitor none \
	-fw_cfg "name=etc/sercon-port,file=$tmp/sercon"
check qemu || exit 1
fw_compare "$tmp/vmm.out" "$tmp/qemu.out" "$MARKS" || exit 1
echo "disk boot: pass (vmm and QEMU)"
