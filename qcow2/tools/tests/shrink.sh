#!/bin/sh
# vmm-img resize --shrink on qcow2 (as qemu-img: clusters past the new end
# discarded, L1 entries past it cleared, the file cut after the last used
# cluster): images made by vmm-img and qemu-img, several cluster sizes, one
# with an internal snapshot that must survive. After each, `qemu-img check`
# finds no errors and no leaks, `qemu-img compare` equals the reference, and
# the file is no longer than qemu-img's own shrink of the same image leaves it.
. "$(dirname "$0")/lib.sh"

if ! qcow2_ready; then
	echo "SKIP: the qcow2 driver is a stub (open returns -ENOTSUP)"
	exit 77
fi

# fill IMAGE: pattern writes over 32 MiB (vmm-io), the same into ref.raw
fill() {
	cmds=""
	for i in 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do
		cmds="$cmds -c 'write -P $((i + 1)) $((i * 2))M 1536k'"
	done
	eval "\"\$IO\" -f qcow2 $cmds \"\$1\"" >/dev/null || return 1
	eval "qemu-io -f raw $cmds ref.raw" >/dev/null
}

# shrink NAME IMAGE SIZE: vmm-img resize --shrink, then judged by qemu-img
shrink() {
	name=$1 img=$2 size=$3
	before=$(stat -c %s "$img")
	cp "$img" qshrunk.qcow2
	qemu-img resize -q --shrink qshrunk.qcow2 "$size"
	if "$IMG" resize "$img" "$size" >"$T/.o" 2>&1; then bad "$name: shrink without --shrink accepted"
	elif grep -q "Use the --shrink option" "$T/.o"; then ok "$name: refused without --shrink"
	else bad "$name: without --shrink: $(cat "$T/.o")"; fi
	check "$name: vmm-img resize --shrink $size" "$IMG" resize --shrink "$img" "$size"
	if qemu-img check "$img" >"$T/.chk" 2>&1; then ok "$name: qemu-img check: no errors, no leaks"
	else bad "$name: qemu-img check: $(cat "$T/.chk")"; fi
	vs=$(qemu-img info --output=json "$img" | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')
	truncate -s "$size" ref.raw
	if [ "$vs" = "$(stat -c %s ref.raw)" ]; then ok "$name: virtual size $vs"; else bad "$name: virtual size $vs"; fi
	if qemu-img compare -f qcow2 -F raw "$img" ref.raw >"$T/.cmp" 2>&1; then ok "$name: qemu-img compare == reference"
	else bad "$name: qemu-img compare: $(cat "$T/.cmp")"; fi
	# The file is cut at least as far as qemu-img cuts it.
	after=$(stat -c %s "$img") qafter=$(stat -c %s qshrunk.qcow2)
	if [ "$after" -le "$qafter" ]; then ok "$name: file $before -> $after bytes (qemu-img: $qafter)"
	else bad "$name: file $before -> $after bytes, qemu-img cuts it to $qafter"; fi
}

for cs in 512 65536 2097152; do
	rm -f v.qcow2 ref.raw
	"$IMG" create -q -f qcow2 -o cluster_size=$cs v.qcow2 32M
	truncate -s 32M ref.raw
	fill v.qcow2 || bad "cs=$cs: fill"
	shrink "vmm-made cs=$cs" v.qcow2 9M
	# Not cluster aligned; then grow again: what was cut reads as zeroes.
	shrink "vmm-made cs=$cs unaligned" v.qcow2 $((5 * 1048576 + 4096 * 3))
	cut=$(( (5 * 1048576 + 4096 * 3 + cs - 1) / cs * cs ))
	check "cs=$cs: grow back" "$IMG" resize v.qcow2 32M
	truncate -s 32M ref.raw
	check "cs=$cs: past the cut reads zeroes" qemu-io -f qcow2 -c "read -P 0 $cut $((32 * 1048576 - cut))" v.qcow2
	if qemu-img check v.qcow2 >"$T/.chk" 2>&1; then ok "cs=$cs: grown: qemu-img check"; else bad "cs=$cs: grown: $(cat "$T/.chk")"; fi
done

# qemu-img's image with an internal snapshot: the snapshot keeps its data.
rm -f q.qcow2 ref.raw
qemu-img create -q -f qcow2 q.qcow2 32M
truncate -s 32M ref.raw
fill q.qcow2 || bad "qemu-made: fill"
cp ref.raw snap.raw
qemu-img snapshot -c s1 q.qcow2
qemu-io -f qcow2 -c 'write -P 0xee 30M 1M' q.qcow2 >/dev/null
qemu-io -f raw -c 'write -P 0xee 30M 1M' ref.raw >/dev/null
shrink "qemu-made with snapshot" q.qcow2 3M
cp q.qcow2 qa.qcow2
qemu-img snapshot -a s1 qa.qcow2
qemu-img convert -f qcow2 -O raw qa.qcow2 s1.raw
same "qemu-made with snapshot: s1 intact" s1.raw snap.raw

# Same result as qemu-img's own shrink.
rm -f a.qcow2 b.qcow2 ref.raw
qemu-img create -q -f qcow2 a.qcow2 32M
truncate -s 32M ref.raw
fill a.qcow2
cp a.qcow2 b.qcow2
"$IMG" resize -q --shrink a.qcow2 7M
qemu-img resize -q --shrink b.qcow2 7M
check "vmm shrink == qemu-img shrink" qemu-img compare a.qcow2 b.qcow2
finish
