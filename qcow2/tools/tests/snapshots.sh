#!/bin/sh
# Internal snapshots across tools: made by vmm-img, read by qemu-img
# (snapshot -l, convert -l, check) and made by qemu-img, listed, applied and
# deleted by vmm-img. `snapshot -l` and `info --output=json` must print what
# qemu-img prints for the same file.
. "$(dirname "$0")/lib.sh"

if ! qcow2_ready; then
	echo "SKIP: the qcow2 driver is a stub (open returns -ENOTSUP)"
	exit 77
fi

check "vmm-img create" "$IMG" create -f qcow2 s.qcow2 4M
check "vmm-io write 0x11" "$IO" -c 'write -P 0x11 0 4M' s.qcow2
check "vmm-img snapshot -c snap1" "$IMG" snapshot -c snap1 s.qcow2
check "vmm-io write 0x22 after the snapshot" "$IO" -c 'write -P 0x22 1M 64k' s.qcow2
check "vmm-img snapshot -c snap2" "$IMG" snapshot -c snap2 s.qcow2
if qemu-img check s.qcow2 >"$T/.c" 2>&1; then ok "qemu-img check after vmm-img snapshots"
else bad "qemu-img check after vmm-img snapshots: $(cat "$T/.c")"; fi
qemu-img snapshot -l s.qcow2 >q.list 2>&1
"$IMG" snapshot -l s.qcow2 >v.list 2>&1
same "snapshot -l output identical to qemu-img's" q.list v.list
if grep -q ' snap1 ' q.list && grep -q ' snap2 ' q.list; then ok "qemu-img lists snap1 and snap2"
else bad "qemu-img snapshot -l: $(cat q.list)"; fi
rm -f snap1.raw
if qemu-img convert -l snap1 -O raw s.qcow2 snap1.raw 2>"$T/.e" &&
   qemu-io -f raw -c 'read -P 0x11 0 4M' snap1.raw | grep -q '^read 4194304/4194304'; then
	ok "qemu-img convert -l snap1 reads the snapshot's data"
else bad "qemu-img convert -l snap1: $(cat "$T/.e")"; fi
qemu-img info --output=json s.qcow2 >q.json
"$IMG" info --output=json s.qcow2 >v.json
same_json "info --output=json equals qemu-img's (but actual-size)" v.json q.json actual-size

check "vmm-img snapshot -a snap1" "$IMG" snapshot -a snap1 s.qcow2
check "vmm-io reads snap1's data back" "$IO" -c 'read -P 0x11 0 4M' s.qcow2
check "vmm-img snapshot -d snap1" "$IMG" snapshot -d snap1 s.qcow2
if qemu-img check s.qcow2 >"$T/.c" 2>&1; then ok "qemu-img check after apply/delete (no leaks)"
else bad "qemu-img check after apply/delete: $(cat "$T/.c")"; fi
if qemu-img snapshot -l s.qcow2 | grep -q ' snap1 '; then bad "snap1 still listed after delete"
else ok "snap1 gone for qemu-img"; fi
if "$IMG" snapshot -a nosuch s.qcow2 >/dev/null 2>"$T/.e"; then bad "applying a missing snapshot succeeded"
elif [ "$(wc -l <"$T/.e")" -eq 1 ]; then ok "missing snapshot: one error line ($(cat "$T/.e"))"
else bad "missing snapshot: $(cat "$T/.e")"; fi

# The other way round.
qemu-img create -q -f qcow2 q.qcow2 4M
qemu-io -f qcow2 -c 'write -P 0x33 0 2M' q.qcow2 >/dev/null
qemu-img snapshot -c qs q.qcow2
qemu-io -f qcow2 -c 'write -P 0x44 0 4M' q.qcow2 >/dev/null
qemu-img snapshot -l q.qcow2 >q2.list 2>&1
"$IMG" snapshot -l q.qcow2 >v2.list 2>&1
same "vmm-img lists qemu-img's snapshot as qemu-img does" q2.list v2.list
rm -f qs.raw
check "vmm-img convert -l qs reads qemu-img's snapshot" "$IMG" convert -l qs -O raw q.qcow2 qs.raw
if qemu-io -f raw -c 'read -P 0x33 0 2M' -c 'read -P 0 2M 2M' qs.raw 2>&1 | grep -q 'verification failed'; then
	bad "convert -l qs: data is not the snapshot's"; else ok "convert -l qs: the snapshot's data"; fi
if [ "$(ls | grep -c 'vmm-img-snapshot')" -eq 0 ]; then ok "convert -l leaves no temporary copy"
else bad "convert -l left $(ls | grep vmm-img-snapshot)"; fi
check "vmm-img snapshot -a qs" "$IMG" snapshot -a qs q.qcow2
if qemu-io -f qcow2 -c 'read -P 0x33 0 2M' -c 'read -P 0 2M 2M' q.qcow2 | grep -c '^read' | grep -q 2 &&
   ! qemu-io -f qcow2 -c 'read -P 0x33 0 2M' -c 'read -P 0 2M 2M' q.qcow2 | grep -q 'verification failed'; then
	ok "qemu-io reads qs's data after vmm-img snapshot -a"
else bad "qemu-io after vmm-img snapshot -a: data differs"; fi
check "vmm-img snapshot -d qs" "$IMG" snapshot -d qs q.qcow2
if qemu-img check q.qcow2 >"$T/.c" 2>&1; then ok "qemu-img check after vmm-img delete"
else bad "qemu-img check after vmm-img delete: $(cat "$T/.c")"; fi
finish
