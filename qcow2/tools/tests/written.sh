#!/bin/sh
# Images written by vmm-img/vmm-io, judged by qemu-img: a fixed-seed random
# workload (pattern writes, zero writes with and without unmap, cluster-aligned
# discards) on a vmm-img-created qcow2 and, translated, on a raw reference;
# then convert -O qcow2, convert -c, resize, commit and rebase. After each,
# `qemu-img check` finds no errors and `qemu-img compare` equals the reference.
. "$(dirname "$0")/lib.sh"

if ! qcow2_ready; then
	echo "SKIP: the qcow2 driver is a stub (open returns -ENOTSUP)"
	exit 77
fi

N=$((16 * 1024 * 1024))
# workload SEED OPS: one vmm-io command per line.
workload() {
	awk -v seed="$1" -v ops="$2" -v n="$N" 'BEGIN {
		srand(seed);
		for (i = 0; i < ops; i++) {
			r = rand();
			off = int(rand() * (n / 512)) * 512;
			len = (int(rand() * 512) + 1) * 512;
			if (off + len > n) len = n - off;
			if (r < 0.6) printf "write -P %d %d %d\n", int(rand() * 255) + 1, off, len;
			else if (r < 0.75) printf "write -z %d %d\n", off, len;
			else if (r < 0.85) printf "write -z -u %d %d\n", off, len;
			else {
				c = 65536; o = int(off / c) * c; l = (int(rand() * 8) + 1) * c;
				if (o + l > n) l = n - o;
				printf "discard %d %d\n", o, l;
			}
		}
	}'
}
# qcheck NAME IMAGE REF: qemu-img check clean and content equal to REF (raw).
qcheck() {
	if qemu-img check "$2" >"$T/.chk" 2>&1; then ok "$1: qemu-img check: no errors"
	else bad "$1: qemu-img check: $(cat "$T/.chk")"; fi
	if qemu-img compare -f qcow2 -F raw "$2" "$3" >"$T/.cmp" 2>&1; then ok "$1: qemu-img compare == reference"
	else bad "$1: qemu-img compare: $(cat "$T/.cmp")"; fi
}

workload 42 300 >ops.txt
# The raw reference sees discards as zero writes (v3 qcow2 without a backing
# file reads discarded clusters as zeroes).
sed 's/^discard /write -z /' ops.txt >ops_ref.txt
check "vmm-img create" "$IMG" create -f qcow2 w.qcow2 16M
qemu-img create -q -f raw ref.raw 16M
check "vmm-io runs the workload (300 ops, seed 42)" sh -c "\"$IO\" -f qcow2 w.qcow2 <ops.txt"
qemu-io -f raw ref.raw <ops_ref.txt >/dev/null 2>&1
qcheck "workload" w.qcow2 ref.raw

# Same workload on a small-cluster, 1-bit-refcount, v2 image.
check "vmm-img create compat=0.10 cluster_size=4k" "$IMG" create -f qcow2 -o compat=0.10,cluster_size=4k w2.qcow2 16M
workload 7 200 | grep -v '^discard' >ops2.txt
qemu-img create -q -f raw ref2.raw 16M
check "vmm-io workload on v2/4k" sh -c "\"$IO\" -f qcow2 w2.qcow2 <ops2.txt"
qemu-io -f raw ref2.raw <ops2.txt >/dev/null 2>&1
qcheck "v2 4k workload" w2.qcow2 ref2.raw
check "vmm-img create refcount_bits=1" "$IMG" create -f qcow2 -o refcount_bits=1 w3.qcow2 16M
check "vmm-io workload on refcount_bits=1" sh -c "\"$IO\" -f qcow2 w3.qcow2 <ops.txt"
qcheck "refcount_bits=1 workload" w3.qcow2 ref.raw

# convert -O qcow2 and convert -c (zlib and zstd).
check "vmm-img convert -O qcow2" "$IMG" convert -O qcow2 w.qcow2 conv.qcow2
qcheck "convert -O qcow2" conv.qcow2 ref.raw
check "vmm-img convert -O qcow2 from raw" "$IMG" convert -f raw -O qcow2 -o cluster_size=2M ref.raw conv2m.qcow2
qcheck "convert raw -> qcow2 2M clusters" conv2m.qcow2 ref.raw
for ct in zlib zstd; do
	check "vmm-img convert -c ($ct)" "$IMG" convert -c -O qcow2 -o compression_type=$ct w.qcow2 comp_$ct.qcow2
	qcheck "convert -c $ct" comp_$ct.qcow2 ref.raw
	if qemu-img check comp_$ct.qcow2 2>/dev/null | grep -q '[1-9][0-9.]*% compressed'; then ok "convert -c $ct: clusters are compressed"
	else bad "convert -c $ct: qemu-img check reports no compressed clusters"; fi
done

# resize: grow, write past the old end, shrink back.
cp w.qcow2 rs.qcow2
cp ref.raw rs.raw
check "vmm-img resize +8M" "$IMG" resize rs.qcow2 +8M
truncate -s 24M rs.raw
check "vmm-io write past the old end" "$IO" -c 'write -P 0x5a 20M 64k' rs.qcow2
qemu-io -f raw -c 'write -P 0x5a 20M 64k' rs.raw >/dev/null
qcheck "resize +8M" rs.qcow2 rs.raw
if [ "$(qemu-img info --output=json rs.qcow2 | sed -n 's/.*"virtual-size": \([0-9]*\).*/\1/p')" = 25165824 ]; then
	ok "resize: qemu-img sees 24 MiB"; else bad "resize: qemu-img virtual size is not 24 MiB"; fi

# commit: top over base, both made by vmm-img.
check "vmm-img create base" "$IMG" create -f qcow2 base.qcow2 16M
check "vmm-io base data" "$IO" -c 'write -P 0x61 0 8M' base.qcow2
check "vmm-img create top -b" "$IMG" create -f qcow2 -b base.qcow2 -F qcow2 top.qcow2
check "vmm-io top data" "$IO" -c 'write -P 0x62 1M 1M' -c 'write -z 4M 256k' -c 'write -P 0x63 12M 64k' top.qcow2
qemu-img create -q -f raw cref.raw 16M
qemu-io -f raw -c 'write -P 0x61 0 8M' -c 'write -P 0x62 1M 1M' -c 'write -z 4M 256k' -c 'write -P 0x63 12M 64k' cref.raw >/dev/null
qcheck "top before commit" top.qcow2 cref.raw
check "vmm-img commit" "$IMG" commit top.qcow2
qcheck "base after commit" base.qcow2 cref.raw
qcheck "top after commit (emptied, reads through)" top.qcow2 cref.raw
if qemu-img map --output=json top.qcow2 | grep -q '"depth": 0, "present": true'; then
	bad "commit: top image still has allocated clusters"; else ok "commit: top image emptied"; fi

# rebase (safe): move top onto a different base; contents must not change.
check "vmm-img create top2 over base" "$IMG" create -f qcow2 -b base.qcow2 -F qcow2 top2.qcow2
check "vmm-io top2 data" "$IO" -c 'write -P 0x64 2M 64k' top2.qcow2
qemu-img convert -O raw top2.qcow2 before.raw
check "vmm-img create other base" "$IMG" create -f qcow2 other.qcow2 16M
check "vmm-io other base data" "$IO" -c 'write -P 0x65 0 16M' other.qcow2
check "vmm-img rebase -b other" "$IMG" rebase -b other.qcow2 -F qcow2 top2.qcow2
qcheck "rebase onto another base" top2.qcow2 before.raw
if qemu-img info top2.qcow2 | grep -q '^backing file: other.qcow2$'; then ok "rebase: backing file is other.qcow2"
else bad "rebase: backing file not rewritten: $(qemu-img info top2.qcow2 | grep backing)"; fi
check "vmm-img rebase -b '' (flatten)" "$IMG" rebase -b "" top2.qcow2
qcheck "rebase flatten" top2.qcow2 before.raw
check "vmm-img rebase -u" "$IMG" rebase -u -b base.qcow2 -F qcow2 top2.qcow2
if qemu-img info top2.qcow2 | grep -q '^backing file: base.qcow2$'; then ok "rebase -u: header rewritten"
else bad "rebase -u: backing file not rewritten"; fi
# check -r leaks: a cluster with refcount 1 that nothing uses.
qemu-img create -q -f qcow2 leak.qcow2 4M
qemu-io -f qcow2 -c 'write -P 1 0 128k' leak.qcow2 >/dev/null
python3 - leak.qcow2 <<'PY'
import struct, sys
f = open(sys.argv[1], "r+b")
h = f.read(104)
cbits = struct.unpack(">I", h[20:24])[0]
cs = 1 << cbits
rt_off = struct.unpack(">Q", h[48:56])[0]
f.seek(0, 2)
end = f.tell()
n = (end + cs - 1) // cs              # first cluster past the end
f.truncate((n + 1) * cs)
f.seek(rt_off)
rb = struct.unpack(">Q", f.read(8))[0]
f.seek(rb + 2 * n)                    # 16-bit refcounts, first block
f.write(struct.pack(">H", 1))
PY
qemu-img check --output=json leak.qcow2 >q.json 2>/dev/null; qrc=$?
"$IMG" check --output=json leak.qcow2 >v.json 2>/dev/null; vrc=$?
[ $qrc -eq 3 ] && [ $vrc -eq 3 ] && ok "leaked cluster: check exits 3 like qemu-img" || bad "leaked cluster: vmm-img exit $vrc, qemu-img $qrc"
same_json "leaked cluster: check --output=json as qemu-img's" v.json q.json fragmented-clusters
"$IMG" check -r leaks leak.qcow2 >v.out 2>&1; vrc=$?
if [ $vrc -eq 0 ] && grep -q '^    1 leaked clusters$' v.out && grep -q 'No errors were found' v.out; then
	ok "check -r leaks repairs and double-checks"
else bad "check -r leaks: exit $vrc: $(cat v.out)"; fi
check "qemu-img check after vmm-img check -r leaks" qemu-img check leak.qcow2

# compare prints what qemu-img compare prints, and exits the same.
qemu-img create -q -f raw c1.raw 1M
qemu-img create -q -f qcow2 c2.qcow2 1M
qemu-img create -q -f qcow2 c3.qcow2 2M
qemu-io -f raw -c 'write -P 3 5000 100' c1.raw >/dev/null
qemu-io -f qcow2 -c 'write -P 3 5000 100' c2.qcow2 >/dev/null
qemu-io -f qcow2 -c 'write -P 3 5000 100' -c 'write -P 4 1536k 1' c3.qcow2 >/dev/null
for args in "c1.raw c2.qcow2" "c2.qcow2 c3.qcow2" "-s c2.qcow2 c3.qcow2" "c1.raw w.qcow2" "c3.qcow2 c1.raw"; do
	qemu-img compare $args >q.out 2>&1; qrc=$?
	"$IMG" compare $args >v.out 2>&1; vrc=$?
	if [ $qrc -eq $vrc ] && cmp -s q.out v.out; then ok "compare $args: '$(head -1 v.out)', exit $vrc"
	else bad "compare $args: vmm exit $vrc '$(cat v.out)', qemu exit $qrc '$(cat q.out)'"; fi
done
# create: qemu-img's "Formatting ..." line for each option set, and images
# qemu-img checks clean.
qemu-img create -q -f qcow2 a.qcow2 10M
for o in "" "-o compat=0.10,cluster_size=4k" "-o compression_type=zstd,extended_l2=on,lazy_refcounts=on,preallocation=metadata,data_file=d.raw" \
	 "-o refcount_bits=64,compat=v3" "-b a.qcow2 -F qcow2" "-o preallocation=falloc" "-o preallocation=full,cluster_size=2M"; do
	rm -f f.qcow2 d.raw
	qemu-img create -f qcow2 $o f.qcow2 10M >q.out 2>&1
	rm -f f.qcow2 d.raw
	"$IMG" create -f qcow2 $o f.qcow2 10M >v.out 2>&1
	if cmp -s q.out v.out; then ok "create $o: $(cat v.out)"; else bad "create $o: '$(cat v.out)' vs qemu-img '$(cat q.out)'"; fi
	check "qemu-img check of vmm-img create $o" qemu-img check f.qcow2
done
finish
