#!/bin/sh
# Block I/O benchmark: vmm-img bench against qemu-img bench on the same raw
# and qcow2 images: 4 KiB random reads and overwrites at queue depth 1 and 32
# (a step of 7919 blocks walks the whole image in a scrambled order),
# allocating 4 KiB writes into fresh images (one per 64 KiB cluster), and
# 1 MiB sequential reads and writes; cache=none and cache=writeback; both
# tools on io_uring. Prints one table row per case with the ratio
# vmm/qemu in throughput (> 1: vmm is faster). Label bench; never in CI.
# Usage: block.sh path/to/vmm-img [size_mib]   (VMM_BENCH_DIR: scratch dir on
# a file system with O_DIRECT; default: the current directory)
IMG=${1:?usage: block.sh path/to/vmm-img [size_mib]}
MIB=${2:-256}
case $IMG in /*) ;; *) IMG=$PWD/$IMG ;; esac
command -v qemu-img >/dev/null 2>&1 || { echo "SKIP: qemu-img not installed"; exit 77; }
D=$(mktemp -d "${VMM_BENCH_DIR:-$PWD}/bench-block.XXXXXX") || exit 1
trap 'rm -rf "$D"' EXIT
trap 'exit 130' INT TERM
cd "$D" || exit 1

# secs TOOL ARGS...: the seconds of "Run completed in X seconds."
secs() {
	"$@" 2>&1 | sed -n 's/^Run completed in \([0-9.]*\) seconds\./\1/p'
}

prepare() {   # prepare FMT FILE: a fully written image
	qemu-img create -q -f "$1" "$2" ${MIB}M
	qemu-img bench -q -f "$1" -t none -w -c $((MIB)) -d 4 -s 1M -S 1M --pattern=90 "$2" >/dev/null
}

printf '%-7s %-10s %-26s %10s %10s %12s %12s %7s\n' format cache case "qemu s" "vmm s" "qemu MiB/s" "vmm MiB/s" ratio
STEP=$((4096 * 7919))
for fmt in raw qcow2; do
	prepare $fmt full.$fmt
	for cache in none writeback; do
		# name | count | bufsize | bench options
		while IFS='|' read -r name count bs opts fresh; do
			[ -n "$name" ] || continue
			if [ "$fresh" = fresh ]; then
				qemu-img create -q -f $fmt q.$fmt ${MIB}M
				qemu-img create -q -f $fmt v.$fmt ${MIB}M
				qf=q.$fmt vf=v.$fmt
			else
				qf=full.$fmt vf=full.$fmt
			fi
			q=$(secs qemu-img bench -f $fmt -t $cache -i io_uring -c $count -s $bs $opts $qf)
			v=$(secs "$IMG" bench -f $fmt -t $cache -i io_uring -c $count -s $bs $opts $vf)
			awk -v f=$fmt -v c=$cache -v n="$name" -v q="$q" -v v="$v" -v cnt=$count -v bs=$bs 'BEGIN {
				mib = cnt * bs / 1048576;
				if (q == "" || v == "" || q == 0 || v == 0) { printf "%-7s %-10s %-26s %10s %10s %12s %12s %7s\n", f, c, n, q, v, "-", "-", "error"; exit }
				printf "%-7s %-10s %-26s %10.3f %10.3f %12.1f %12.1f %7.2f\n", f, c, n, q, v, mib / q, mib / v, q / v }'
		done <<ROWS
4k randread qd1|5000|4096|-d 1 -S $STEP|
4k randread qd32|50000|4096|-d 32 -S $STEP|
4k randwrite qd1|5000|4096|-d 1 -S $STEP -w|
4k randwrite qd32|50000|4096|-d 32 -S $STEP -w|
4k alloc write qd32|$((MIB * 16))|4096|-d 32 -S 65536 -w|fresh
1M seq read qd4|$((MIB * 2))|1048576|-d 4 -S 1048576|
1M seq write qd4|$((MIB * 2))|1048576|-d 4 -S 1048576 -w|
ROWS
	done
done
