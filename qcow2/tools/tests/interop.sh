#!/bin/sh
# Images made by qemu-img, read by vmm-img: for each kind (cluster sizes
# 512/64k/2M, compat 0.10/1.1, refcount_bits 1/16/64, zero clusters, zlib and
# zstd compressed clusters, a depth-3 backing chain with relative names,
# extended L2, an external data file), `vmm-img convert -O raw` must give the
# same bytes as `qemu-img convert -O raw`. Also vmm-io reads patterns back.
. "$(dirname "$0")/lib.sh"

if ! qcow2_ready; then
	echo "SKIP: the qcow2 driver is a stub (open returns -ENOTSUP)"
	exit 77
fi

SIZE=8M
# fill IMAGE: a fixed mix of patterns, a zeroed range, a partial cluster.
fill() {
	qemu-io -f qcow2 -c 'write -P 0x11 0 64k' -c 'write -P 0x22 100k 3k' \
		-c 'write -P 0x33 1M 1M' -c 'write -z 1536k 128k' -c 'write -P 0x44 7M 4k' \
		-c 'write -P 0x55 8388096 512' "$1" >/dev/null
}
# compare NAME IMAGE [vmm-img convert options]
compare_raw() {
	name=$1 img=$2
	shift 2
	rm -f "$T/q.raw" "$T/v.raw"
	if ! qemu-img convert -O raw "$img" "$T/q.raw" >"$T/.qerr" 2>&1; then
		bad "$name: qemu-img convert failed: $(cat "$T/.qerr")"
		return
	fi
	if ! "$IMG" convert "$@" -O raw "$img" "$T/v.raw" >"$T/.verr" 2>&1; then
		bad "$name: vmm-img convert failed: $(head -3 "$T/.verr")"
		return
	fi
	same "$name: vmm-img convert -O raw == qemu-img convert -O raw" "$T/q.raw" "$T/v.raw"
	# What qemu-img reports about the same file, field by field.
	qemu-img info --output=json "$img" >"$T/q.json"
	"$IMG" info --output=json "$img" >"$T/v.json"
	same_json "$name: info --output=json as qemu-img's" "$T/v.json" "$T/q.json" actual-size
	qemu-img info "$img" | grep -v '^disk size:' >"$T/q.txt"
	"$IMG" info "$img" | grep -v '^disk size:' >"$T/v.txt"
	same "$name: info (human) as qemu-img's but disk size" "$T/q.txt" "$T/v.txt"
	qemu-img map --output=json "$img" >"$T/q.json"
	"$IMG" map --output=json "$img" >"$T/v.json"
	same_json "$name: map --output=json as qemu-img's" "$T/v.json" "$T/q.json" offset@zero
	case $img in *.raw) return ;; esac
	qemu-img check --output=json "$img" >"$T/q.json"
	"$IMG" check --output=json "$img" >"$T/v.json"
	# fragmented-clusters: the driver counts fragmentation its own way.
	same_json "$name: check --output=json as qemu-img's" "$T/v.json" "$T/q.json" fragmented-clusters
}

for cs in 512 65536 2M; do
	qemu-img create -q -f qcow2 -o cluster_size=$cs c$cs.qcow2 $SIZE && fill c$cs.qcow2
	compare_raw "cluster_size=$cs" c$cs.qcow2
done
qemu-img create -q -f qcow2 -o compat=0.10 v2.qcow2 $SIZE && fill v2.qcow2
compare_raw "compat=0.10" v2.qcow2
for rb in 1 16 64; do
	qemu-img create -q -f qcow2 -o refcount_bits=$rb r$rb.qcow2 $SIZE && fill r$rb.qcow2
	compare_raw "refcount_bits=$rb" r$rb.qcow2
done

# Zero clusters over data (v3 zero flag) and over a backing file.
qemu-img create -q -f qcow2 z.qcow2 $SIZE
qemu-io -f qcow2 -c 'write -P 0x66 0 2M' -c 'write -z 64k 128k' -c 'write -z -u 1M 64k' z.qcow2 >/dev/null
compare_raw "zero clusters" z.qcow2

# Compressed clusters, both algorithms (and partial last cluster).
qemu-img create -q -f raw src.raw 3000k
qemu-io -f raw -c 'write -P 0x77 0 1M' -c 'write -P 0x78 2M 100k' src.raw >/dev/null
printf 'compressible text %.0s' $(seq 1 3000) | dd of=src.raw bs=1 seek=1200000 conv=notrunc 2>/dev/null
for ct in zlib zstd; do
	qemu-img convert -c -O qcow2 -o compression_type=$ct src.raw comp_$ct.qcow2
	compare_raw "compressed $ct" comp_$ct.qcow2
done

# Backing chain of depth 3 with relative names in other directories.
mkdir -p d1/d2
qemu-img create -q -f qcow2 d1/d2/base.qcow2 $SIZE
qemu-io -f qcow2 -c 'write -P 0xa1 0 4M' d1/d2/base.qcow2 >/dev/null
qemu-img create -q -f qcow2 -b d2/base.qcow2 -F qcow2 d1/mid.qcow2
qemu-io -f qcow2 -c 'write -P 0xa2 1M 1M' -c 'write -z 3M 64k' d1/mid.qcow2 >/dev/null
qemu-img create -q -f qcow2 -b d1/mid.qcow2 -F qcow2 top.qcow2 $SIZE
qemu-io -f qcow2 -c 'write -P 0xa3 1536k 64k' -c 'write -P 0xa4 6M 64k' top.qcow2 >/dev/null
compare_raw "backing chain depth 3 (relative paths)" top.qcow2
qemu-img info --backing-chain --output=json top.qcow2 >q.json
"$IMG" info --backing-chain --output=json top.qcow2 >v.json
same_json "info --backing-chain --output=json as qemu-img's" v.json q.json actual-size
qemu-img info --backing-chain "$T/top.qcow2" | grep -v '^disk size:' >q.txt
"$IMG" info --backing-chain "$T/top.qcow2" | grep -v '^disk size:' >v.txt
same "info --backing-chain (absolute name) as qemu-img's" q.txt v.txt
check "vmm-io reads each layer's pattern through the chain" "$IO" -f qcow2 -c 'read -P 0xa1 0 1M' \
	-c 'read -P 0xa2 1M 512k' -c 'read -P 0xa3 1536k 64k' -c 'read -P 0 3M 64k' -c 'read -P 0xa4 6M 64k' \
	-c 'read -P 0 7M 1M' top.qcow2

# Extended L2 entries (subclusters), with sub-cluster writes.
qemu-img create -q -f qcow2 -o extended_l2=on,cluster_size=128k x.qcow2 $SIZE
qemu-io -f qcow2 -c 'write -P 0x91 4k 4k' -c 'write -P 0x92 200k 12k' -c 'write -z 1M 4k' \
	-c 'write -P 0x93 2M 256k' -c 'write -z 2M 8k' x.qcow2 >/dev/null
compare_raw "extended_l2" x.qcow2

# External data file.
qemu-img create -q -f qcow2 -o data_file=ext.data df.qcow2 $SIZE && fill df.qcow2
compare_raw "data_file" df.qcow2

# Raw source, and vmm-img's -S 0 (no sparse detection) on a qcow2 source.
compare_raw "raw source" src.raw
compare_raw "-S 0" c65536.qcow2 -S 0
finish
