#!/bin/sh
# Block I/O benchmark: vmm-img bench against qemu-img bench on the same raw
# and qcow2 images: 4 KiB random reads and overwrites at queue depth 1 and 32
# (a step of 7919 blocks walks the whole image in a scrambled order),
# allocating 4 KiB writes into fresh images 4x the size (one per 64 KiB
# cluster: 64 requests per MiB, enough to time even on raw), and
# 1 MiB sequential reads and writes (16 passes over the image: one pass
# takes about 0.1 s with writeback, too short to time); cache=none and
# cache=writeback; both
# tools on io_uring. Prints one table row per case with the ratio
# vmm/qemu in throughput (> 1: vmm is faster). Label bench; never in CI.
# Each row runs ROUNDS times (default 3), the two tools alternating, and
# reports the median wall time of each, and the ratio of their median CPU
# time (user + system of the tool's process: on a loaded shared host the
# wall time mostly measures the scheduler, the CPU time the tool).
# Usage: block.sh path/to/vmm-img [size_mib]   (FORMATS: "raw qcow2" or one
# of them; VMM_BENCH_DIR: scratch dir on
# a file system with O_DIRECT; default: the current directory)
IMG=${1:?usage: block.sh path/to/vmm-img [size_mib]}
MIB=${2:-256}
ROUNDS=${ROUNDS:-3}
case $IMG in /*) ;; *) IMG=$PWD/$IMG ;; esac
command -v qemu-img >/dev/null 2>&1 || { echo "SKIP: qemu-img not installed"; exit 77; }
D=$(mktemp -d "${VMM_BENCH_DIR:-$PWD}/bench-block.XXXXXX") || exit 1
trap 'rm -rf "$D"' EXIT
trap 'exit 130' INT TERM
cd "$D" || exit 1

# secs TOOL ARGS...: "WALL CPU": the seconds of "Run completed in X seconds."
# and the user + system seconds of the process.
secs() {
	/usr/bin/python3 - "$@" <<'PY'
import re, resource, subprocess, sys
p = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
m = re.search(r"^Run completed in ([0-9.]+) seconds\.", p.stdout, re.M)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
if m:
    print(m.group(1), "%.4f" % (r.ru_utime + r.ru_stime))
PY
}

prepare() {   # prepare FMT FILE: a fully written image
	qemu-img create -q -f "$1" "$2" ${MIB}M
	qemu-img bench -q -f "$1" -t none -w -c $((MIB)) -d 4 -s 1M -S 1M --pattern=90 "$2" >/dev/null
}

printf '%-7s %-10s %-22s %8s %8s %10s %10s %6s %8s %8s %6s\n' format cache case "qemu s" "vmm s" "qemu MiB/s" "vmm MiB/s" ratio "qemu cpu" "vmm cpu" "cpu"
STEP=$((4096 * 7919))
for fmt in ${FORMATS:-raw qcow2}; do
	prepare $fmt full.$fmt
	for cache in none writeback; do
		# name | count | bufsize | bench options
		while IFS='|' read -r name count bs opts fresh; do
			[ -n "$name" ] || continue
			qf=full.$fmt vf=full.$fmt
			[ "$fresh" = fresh ] && qf=q.$fmt vf=v.$fmt
			q="" v=""
			for r in $(seq "$ROUNDS"); do
				if [ "$fresh" = fresh ]; then   # every round allocates
					qemu-img create -q -f $fmt q.$fmt $((MIB * 4))M
					qemu-img create -q -f $fmt v.$fmt $((MIB * 4))M
				fi
				q="$q $(secs qemu-img bench -f $fmt -t $cache -i io_uring -c $count -s $bs $opts $qf)"
				v="$v $(secs "$IMG" bench -f $fmt -t $cache -i io_uring -c $count -s $bs $opts $vf)"
			done
			echo "$q|$v" | awk -v f=$fmt -v c=$cache -v n="$name" -v cnt=$count -v bs=$bs '
			function med(s, i,   a, k, t, x, y) {   # median of the i-th field (1 wall, 2 cpu) of pairs
				k = split(s, a, " ");
				t = 0;
				for (x = i; x <= k; x += 2) w[++t] = a[x] + 0;
				for (x = 1; x <= t; x++) for (y = x + 1; y <= t; y++) if (w[y] < w[x]) { z = w[x]; w[x] = w[y]; w[y] = z }
				return t ? w[int((t + 1) / 2)] : 0 }
			{
				split($0, h, "|");
				q = med(h[1], 1); v = med(h[2], 1); qc = med(h[1], 2); vc = med(h[2], 2);
				mib = cnt * bs / 1048576;
				if (q == 0 || v == 0) { printf "%-7s %-10s %-22s %8s %8s %10s %10s %6s\n", f, c, n, q, v, "-", "-", "error"; exit }
				printf "%-7s %-10s %-22s %8.3f %8.3f %10.1f %10.1f %6.2f %8.3f %8.3f %6.2f\n", f, c, n, q, v, mib / q, mib / v, q / v, qc, vc, (vc > 0 ? qc / vc : 0) }'
		done <<ROWS
4k randread qd1|5000|4096|-d 1 -S $STEP|
4k randread qd32|50000|4096|-d 32 -S $STEP|
4k randwrite qd1|5000|4096|-d 1 -S $STEP -w|
4k randwrite qd32|50000|4096|-d 32 -S $STEP -w|
4k alloc write qd32|$((MIB * 64))|4096|-d 32 -S 65536 -w|fresh
1M seq read qd4|$((MIB * 16))|1048576|-d 4 -S 1048576|
1M seq write qd4|$((MIB * 16))|1048576|-d 4 -S 1048576 -w|
ROWS
	done
done
