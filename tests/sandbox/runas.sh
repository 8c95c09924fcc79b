#!/bin/sh
# -runas USER / -chroot DIR (vmm/privileges.h) with the hello guest, as root:
#  1. -runas nobody -chroot EMPTYDIR -sandbox on: the guest passes and vmm
#     logs "running as uid <nobody's uid> gid ... in chroot EMPTYDIR";
#  2. -runas with an unknown user: set-up error (status 1) naming it.
#  3. as 1 with -snapshot on a root-owned 0600 qcow2 disk and TMPDIR a
#     root-only directory: the overlay is made and opened before the drop,
#     the guest passes, the image is unchanged, TMPDIR stays empty.
# Usage: runas.sh path/to/vmm guest-dir. Exit 0 pass, 1 fail, 77 skip (no
# /dev/kvm, not root, or no user nobody).
VMM=${1:?usage: runas.sh vmm guest-dir}
G=${2:?usage: runas.sh vmm guest-dir}/hello.elf
[ -c "${VMM_KVM_DEVICE:-/dev/kvm}" ] || { echo "skip: no /dev/kvm"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "skip: not root"; exit 77; }
uid=$(id -u nobody 2>/dev/null) || { echo "skip: no user nobody"; exit 77; }
tmp=$(mktemp -d)
mkdir "$tmp/root"
trap 'rm -rf "$tmp"' EXIT
fail=0
timeout 300 "$VMM" -m 64M -nographic -device isa-debug-exit,iobase=0xf4,iosize=4 -kernel "$G" \
	-append hello=world -runas nobody -chroot "$tmp/root" -sandbox on </dev/null >"$tmp/out" 2>"$tmp/err"
st=$?
if [ $st = 1 ] && grep -q '^PASS' "$tmp/out" && grep -q "running as uid $uid gid [0-9]* in chroot $tmp/root" "$tmp/err"
then echo "ok runas+chroot: guest passes as uid $uid in the chroot"
else echo "FAIL runas+chroot: status $st"; cat "$tmp/err"; fail=1; fi
mkdir -m 700 "$tmp/ovl"
if command -v qemu-img >/dev/null && qemu-img create -q -f qcow2 "$tmp/d.qcow2" 1M && chmod 600 "$tmp/d.qcow2"; then
	sum=$(sha256sum <"$tmp/d.qcow2")
	TMPDIR="$tmp/ovl" timeout 300 "$VMM" -m 64M -nographic -device isa-debug-exit,iobase=0xf4,iosize=4 -kernel "$G" \
		-append hello=world -runas nobody -chroot "$tmp/root" -sandbox on -snapshot -hda "$tmp/d.qcow2" \
		</dev/null >"$tmp/out3" 2>"$tmp/err3"
	st=$?
	if [ $st = 1 ] && grep -q '^PASS' "$tmp/out3" && [ "$(sha256sum <"$tmp/d.qcow2")" = "$sum" ] && [ -z "$(ls -A "$tmp/ovl")" ]
	then echo "ok runas+chroot+snapshot: guest passes, image unchanged, no overlay left"
	else echo "FAIL runas+chroot+snapshot: status $st, overlays left: $(ls -A "$tmp/ovl")"; cat "$tmp/err3"; fail=1; fi
else echo "skip runas+chroot+snapshot: no qemu-img"; fi
timeout 60 "$VMM" -m 64M -nographic -kernel "$G" -runas no-such-user-vmm </dev/null >"$tmp/out2" 2>"$tmp/err2"
st=$?
if [ $st = 1 ] && grep -q "no-such-user-vmm" "$tmp/err2"; then echo "ok unknown user: set-up error"
else echo "FAIL unknown user: status $st"; cat "$tmp/err2"; fail=1; fi
exit $fail
