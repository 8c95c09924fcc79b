#!/bin/sh
# Set-up errors of the vmm binary: each must exit with status 1 and print
# exactly one line on stderr that names the option, value or file at fault.
# Usage: cli_errors.sh path/to/vmm
VMM=${1:?usage: cli_errors.sh path/to/vmm}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0 pass=0

# expect "description" "substring of the message" command...
expect() {
	desc=$1 want=$2
	shift 2
	"$@" </dev/null >"$tmp/out" 2>"$tmp/err"
	rc=$?
	lines=$(wc -l <"$tmp/err")
	if [ "$rc" -ne 1 ] || [ "$lines" -ne 1 ] || ! grep -qF -- "$want" "$tmp/err"; then
		echo "FAIL: $desc: exit $rc, $lines stderr lines (want 1, containing '$want'):"
		sed 's/^/    /' "$tmp/err"
		fail=$((fail + 1))
	else
		echo "ok: $desc: $(cat "$tmp/err")"
		pass=$((pass + 1))
	fi
}

printf 'this is not a kernel\n' >"$tmp/notakernel"
# A valid multiboot kernel (a.out kludge, multiboot spec 0.6.96 section 3.1):
# header at 0x100000, entry at 0x100020: hlt; jmp .-1. Errors that come after
# the kernel was loaded (no /dev/kvm) use it.
printf '\002\260\255\033\000\000\001\000\376\117\121\344\000\000\020\000\000\000\020\000\000\000\000\000\000\000\000\000\040\000\020\000\364\353\375' >"$tmp/mb.bin"
NOKVM="env VMM_KVM_DEVICE=/nonexistent"
expect "unknown option" "-frobnicate" "$VMM" -frobnicate
expect "bad -m" "-m: invalid size 'abc'" "$VMM" -m abc
expect "missing argument" "-kernel" "$VMM" -kernel
expect "unknown -cpu model" "pentium" "$VMM" -cpu pentium
expect "missing kernel file" "$tmp/nonexistent" "$VMM" -serial null -kernel "$tmp/nonexistent"
expect "non-kernel file" "$tmp/notakernel" "$VMM" -serial null -kernel "$tmp/notakernel"
if [ -r /etc/hostname ]; then
	expect "/etc/hostname as kernel" "/etc/hostname" "$VMM" -serial null -kernel /etc/hostname
fi
expect "-m bigger than the host" "-m" "$VMM" -serial null -m 1000T -kernel "$tmp/notakernel"
expect "no /dev/kvm" "/nonexistent not found: is the kvm module loaded?" $NOKVM "$VMM" -serial null -kernel "$tmp/mb.bin"
# File errors come before /dev/kvm is opened, so they show on any host.
expect "kernel error before /dev/kvm" "$tmp/notakernel" $NOKVM "$VMM" -serial null -kernel "$tmp/notakernel"
expect "bad serial file" "vmm: -serial: $tmp/nodir/x: No such file or directory" "$VMM" -serial "file:$tmp/nodir/x" -kernel "$tmp/notakernel"
expect "bad -debugcon backend" "-debugcon: unsupported backend 'tcp:x'" "$VMM" -debugcon tcp:x
expect "bad -debugcon file" "vmm: -debugcon: $tmp/nodir/d: No such file or directory" $NOKVM "$VMM" -serial null -debugcon "file:$tmp/nodir/d" -kernel "$tmp/mb.bin"

# Block devices.
printf 'QFI\373garbage that is no qcow2 header' >"$tmp/bad.qcow2"
dd if=/dev/zero of="$tmp/raw.img" bs=1024 count=64 2>/dev/null
expect "missing -hda image" "-hda $tmp/nodisk: No such file or directory" "$VMM" -serial null -hda "$tmp/nodisk" -kernel "$tmp/mb.bin"
expect "missing -drive image" "-drive file=$tmp/nodisk,x: No such file or directory" "$VMM" -serial null -drive "file=$tmp/nodisk,,x,format=raw" -kernel "$tmp/mb.bin"
expect "corrupt qcow2 image" "-drive file=$tmp/bad.qcow2: " "$VMM" -serial null -drive "file=$tmp/bad.qcow2,format=qcow2" -kernel "$tmp/mb.bin"
expect "-kernel-from-iso without -cdrom" "-kernel-from-iso: needs -cdrom FILE" "$VMM" -serial null -kernel-from-iso
expect "-kernel-from-iso on a non-ISO" "-kernel-from-iso: $tmp/raw.img: not an ISO 9660 image" "$VMM" -serial null -cdrom "$tmp/raw.img" -kernel-from-iso
expect "bad -drive property" "-drive: unsupported property 'colour'" "$VMM" -drive "file=$tmp/raw.img,colour=red"
expect "bad cache mode" "-drive: invalid cache mode 'fast'" "$VMM" -drive "file=$tmp/raw.img,cache=fast"
expect "-device drive= not found" "-device virtio-blk-pci: drive 'd9' not found" "$VMM" -device virtio-blk-pci,drive=d9
expect "raw image, format given" "/nonexistent not found" $NOKVM "$VMM" -serial null -drive "file=$tmp/raw.img,format=raw" -kernel "$tmp/mb.bin"
# -snapshot: the overlay is made (in TMPDIR) before /dev/kvm is opened.
expect "-snapshot, missing image" "-hda $tmp/nodisk: No such file or directory" "$VMM" -serial null -snapshot -hda "$tmp/nodisk" -kernel "$tmp/mb.bin"
expect "-snapshot, TMPDIR missing" "vmm: -hda $tmp/raw.img: snapshot: cannot create a temporary overlay in $tmp/notmp: No such file or directory (set TMPDIR to a writable directory)" env TMPDIR="$tmp/notmp" "$VMM" -serial null -snapshot -hda "$tmp/raw.img" -kernel "$tmp/mb.bin"
expect "snapshot=on, TMPDIR missing" "vmm: -drive file=$tmp/raw.img: snapshot: cannot create a temporary overlay in $tmp/notmp" env TMPDIR="$tmp/notmp" "$VMM" -serial null -drive "file=$tmp/raw.img,snapshot=on" -kernel "$tmp/mb.bin"
mkdir "$tmp/ovl"
expect "-snapshot on a probed raw image: no warning, overlay gone" "/nonexistent not found" env TMPDIR="$tmp/ovl" $NOKVM "$VMM" -serial null -snapshot -hda "$tmp/raw.img" -kernel "$tmp/mb.bin"
if [ -n "$(ls -A "$tmp/ovl")" ]; then
	echo "FAIL: -snapshot left files in TMPDIR: $(ls -A "$tmp/ovl")"
	fail=$((fail + 1))
fi
# Probing a raw image warns as QEMU does (then stops here at the missing /dev/kvm).
$NOKVM "$VMM" -serial null -hda "$tmp/raw.img" -kernel "$tmp/mb.bin" </dev/null >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ "$rc" -eq 1 ] && grep -qF "WARNING: Image format was not specified for '$tmp/raw.img' and probing guessed raw." "$tmp/err" &&
   tail -n 1 "$tmp/err" | grep -qF "/nonexistent not found"; then
	echo "ok: raw probing warning"
	pass=$((pass + 1))
else
	echo "FAIL: raw probing warning: exit $rc:"
	sed 's/^/    /' "$tmp/err"
	fail=$((fail + 1))
fi

# Networks.
expect "-netdev user" "-netdev: unsupported network backend 'user' (only 'tap')" "$VMM" -netdev user,id=n0
expect "-netdev script" "vmm runs no scripts" "$VMM" -netdev tap,id=n0,script=/etc/qemu-ifup
expect "-device netdev= not found" "-device virtio-net-pci: netdev 'n9' not found" "$VMM" -device virtio-net-pci,netdev=n9
# A tap made multi-queue cannot be attached as a single-queue one: needs
# CAP_NET_ADMIN and a private network namespace, skipped otherwise.
if command -v unshare >/dev/null && unshare -n true 2>/dev/null; then
	unshare -n sh -c "ip tuntap add dev vmmtest0 mode tap multi_queue && $NOKVM '$VMM' -serial null -netdev tap,id=n0,ifname=vmmtest0,script=no -device virtio-net-pci,netdev=n0 -kernel '$tmp/mb.bin'" </dev/null >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" -eq 1 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -qF -- "-netdev tap,id=n0: tap 'vmmtest0': " "$tmp/err"; then
		echo "ok: tap with other flags: $(cat "$tmp/err")"
		pass=$((pass + 1))
	else
		echo "FAIL: tap with other flags: exit $rc:"
		sed 's/^/    /' "$tmp/err"
		fail=$((fail + 1))
	fi
else
	echo "skip: tap error (no network namespace)"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
