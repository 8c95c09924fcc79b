#!/bin/sh
# Error cases of vmm-img and vmm-io: each prints exactly one line on stderr,
# naming the file, option or value at fault, and exits with qemu-img's status
# (1; compare: 2; check of a format without checks: 63).
. "$(dirname "$0")/lib.sh"

# expect "description" STATUS "substring" command...
expect() {
	desc=$1 want_rc=$2 want=$3
	shift 3
	"$@" </dev/null >"$T/out" 2>"$T/err"
	rc=$?
	lines=$(wc -l <"$T/err")
	if [ "$rc" -ne "$want_rc" ] || [ "$lines" -ne 1 ] || ! grep -qF -- "$want" "$T/err"; then
		bad "$desc: exit $rc (want $want_rc), $lines stderr lines (want 1, containing '$want'): $(cat "$T/err")"
	else
		ok "$desc: $(cat "$T/err")"
	fi
}

printf 'not an image' >junk
qemu-img create -q -f raw r.img 1M
expect "info: missing file" 1 "Could not open 'nonexist'" "$IMG" info nonexist
expect "info: unknown format" 1 "Unknown driver 'foo'" "$IMG" info -f foo junk
expect "info: not qcow2" 1 "Could not open 'junk'" "$IMG" info -f qcow2 junk
expect "unknown command" 1 "Command not found: frob" "$IMG" frob
expect "unknown option" 1 "unrecognized option '--frob'" "$IMG" info --frob r.img
expect "missing option argument" 1 "missing argument for option '-f'" "$IMG" info r.img -f
expect "no arguments" 1 "vmm-img" "$IMG"
expect "create: bad size" 1 "Invalid image size" "$IMG" create -f raw x.img abc
expect "create: unknown format" 1 "Unknown file format 'vdi'" "$IMG" create -f vdi x.img 1M
expect "create: unknown -o" 1 "Invalid parameter 'foo'" "$IMG" create -f qcow2 -o foo=bar x.qcow2 1M
expect "create: no size" 1 "needs a size" "$IMG" create -f qcow2 x.qcow2
expect "create: v2 refcount_bits" 1 "refcount widths" "$IMG" create -f qcow2 -o compat=0.10,refcount_bits=1 x.qcow2 1M
expect "create: missing backing file" 1 "Could not open 'nonexist'" "$IMG" create -f qcow2 -b nonexist -F qcow2 x.qcow2
expect "check: raw has no checks" 63 "does not support checks" "$IMG" check -f raw r.img
expect "compare: missing file" 2 "Could not open 'nonexist'" "$IMG" compare r.img nonexist
expect "resize: shrink without --shrink" 1 "--shrink" "$IMG" resize -f raw r.img -512k
expect "map: bad --output" 1 "--output" "$IMG" map --output=xml r.img
expect "convert: missing source" 1 "Could not open 'nonexist'" "$IMG" convert nonexist out.raw
expect "vmm-io: missing file" 1 "can't open device nonexist" "$IO" -c 'read 0 1' nonexist
expect "vmm-io: unknown format" 1 "Unknown driver 'foo'" "$IO" -f foo -c 'read 0 1' r.img
expect "vmm-io: bad option" 1 "invalid option -- 'Z'" "$IO" -Z r.img

if qcow2_ready; then
	# Corrupt: an L1 entry pointing far beyond the end of the file.
	qemu-img create -q -f qcow2 c.qcow2 1M
	qemu-io -f qcow2 -c 'write -P 1 0 64k' c.qcow2 >/dev/null
	l1=$(od -An -t u8 --endian=big -j 40 -N 8 c.qcow2 | tr -d ' ')
	printf '\200\000\000\000\177\000\000\000' | dd of=c.qcow2 bs=1 seek="$l1" conv=notrunc 2>/dev/null
	"$IO" -f qcow2 -c 'read 0 64k' c.qcow2 >"$T/out" 2>"$T/err"
	rc=$?
	if [ $rc -ne 0 ] && [ "$(wc -l <"$T/err")" -le 1 ]; then ok "corrupt L1 entry: read fails cleanly (exit $rc) $(cat "$T/out" "$T/err" | head -2)"
	else bad "corrupt L1 entry: exit $rc: $(cat "$T/out" "$T/err")"; fi
	"$IMG" check c.qcow2 >"$T/out" 2>"$T/err"
	rc=$?
	if [ $rc -eq 2 ] || [ $rc -eq 1 ]; then ok "check of the corrupt image: exit $rc"
	else bad "check of the corrupt image: exit $rc $(cat "$T/out" "$T/err")"; fi
	# A truncated header.
	head -c 50 c.qcow2 >t.qcow2
	expect "truncated qcow2 header" 1 "Could not open 't.qcow2'" "$IMG" info t.qcow2
else
	echo "skip: qcow2 half (the qcow2 driver is a stub)"
	skipped=$((skipped + 1))
fi
finish
