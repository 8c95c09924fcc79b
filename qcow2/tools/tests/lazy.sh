#!/bin/sh
# lazy_refcounts (qcow2.txt: compatible feature bit 0, incompatible bit 0
# "dirty"): images made by vmm-img and qemu-img with lazy_refcounts=on,
# written and then crashed (qemu-io 'abort', vmm-io 'sigraise 9') so the
# dirty bit stays set; read-only opens work without repair, a read-write open
# by vmm repairs the refcounts and clears the bit; `qemu-img check` is then
# clean and the data intact. A clean close leaves the bit clear.
. "$(dirname "$0")/lib.sh"

if ! qcow2_ready; then
	echo "SKIP: the qcow2 driver is a stub (open returns -ENOTSUP)"
	exit 77
fi

dirty() {   # dirty IMAGE: prints true/false (qemu-img's dirty-flag)
	qemu-img info --output=json "$1" | python3 -c 'import json,sys; print(str(json.load(sys.stdin)["dirty-flag"]).lower())'
}
expect_dirty() {   # expect_dirty NAME IMAGE true|false
	d=$(dirty "$2")
	if [ "$d" = "$3" ]; then ok "$1: dirty-flag $d"; else bad "$1: dirty-flag $d, expected $3"; fi
}
reads() {   # reads NAME IMAGE: the data written by both writers
	check "$1: reads back" "$IO" -f qcow2 -r -c 'read -P 0xa1 0 1M' -c 'read -P 0xb2 4M 64k' \
		-c 'read -P 0 1M 3M' "$2"
}
repaired() {   # repaired NAME IMAGE: vmm opens it read-write
	check "$1: vmm-io read-write open" "$IO" -f qcow2 -c 'read -P 0xa1 0 1M' "$2"
	expect_dirty "$1: after vmm's repair" "$2" false
	if qemu-img check "$2" >"$T/.chk" 2>&1; then ok "$1: qemu-img check: no errors, no leaks"
	else bad "$1: qemu-img check: $(cat "$T/.chk")"; fi
	reads "$1: repaired" "$2"
}

for maker in vmm qemu; do
	rm -f l.qcow2
	if [ $maker = vmm ]; then "$IMG" create -q -f qcow2 -o lazy_refcounts=on l.qcow2 16M
	else qemu-img create -q -f qcow2 -o lazy_refcounts=on l.qcow2 16M; fi
	if "$IMG" info l.qcow2 | grep -q "lazy refcounts: true"; then ok "$maker-made: lazy refcounts: true"
	else bad "$maker-made: vmm-img info does not show lazy refcounts"; fi

	# Clean close: the bit is cleared again.
	check "$maker-made: vmm-io writes" "$IO" -f qcow2 -c 'write -P 0xa1 0 1M' l.qcow2
	expect_dirty "$maker-made: clean close" l.qcow2 false

	# vmm crashes after a flush (the bit is set, metadata reached the disk).
	"$IO" -f qcow2 -c 'write -P 0xb2 4M 64k' -c flush -c 'sigraise 9' l.qcow2 >/dev/null 2>&1
	expect_dirty "$maker-made: vmm-io killed" l.qcow2 true
	reads "$maker-made: dirty, read-only open" l.qcow2
	expect_dirty "$maker-made: after a read-only open" l.qcow2 true
	repaired "$maker-made: vmm crash" l.qcow2

	# qemu-io crashes: refcounts really behind (qemu-img check finds errors).
	qemu-io -f qcow2 -c 'write -P 0xc3 8M 64k' -c 'write -P 0xc3 12M 128k' -c abort l.qcow2 >/dev/null 2>&1
	expect_dirty "$maker-made: qemu-io aborted" l.qcow2 true
	if qemu-img check l.qcow2 >/dev/null 2>&1; then bad "$maker-made: qemu crash left no refcount errors to repair"
	else ok "$maker-made: qemu crash left refcount errors"; fi
	repaired "$maker-made: qemu crash" l.qcow2
	check "$maker-made: qemu crash: its writes read back" "$IO" -f qcow2 -r \
		-c 'read -P 0xc3 8M 64k' -c 'read -P 0xc3 12M 128k' l.qcow2
done
finish
