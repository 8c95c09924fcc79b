#!/bin/sh
# vmm-io against qemu-io: the same commands on copies of the same image must
# print the same lines (timings masked) and end with the same exit status;
# a pattern mismatch alone makes the exit status non-zero. Raw always runs;
# qcow2 runs once the driver opens images.
. "$(dirname "$0")/lib.sh"

mask() { sed -e 's/; [0-9:.]* sec (.*)$/; TIME/' -e 's/; [0-9]*:[0-9:.]* (.*)$/; TIME/' "$1"; }

# run TOOL FMT IMAGE OUT command...: one -c per command; prints the exit status.
run() {
	tool=$1 fmt=$2 img=$3 out=$4
	shift 4
	n=$# i=0
	while [ $i -lt $n ]; do set -- "$@" -c "$1"; shift; i=$((i + 1)); done
	"$tool" -f "$fmt" "$@" "$img" >"$out" 2>&1
	echo $?
}

# compare_io NAME FMT IMAGE command...
compare_io() {
	name=$1 fmt=$2 img=$3
	shift 3
	cp "$img" q.img && cp "$img" v.img
	qrc=$(run qemu-io "$fmt" q.img q.out "$@")
	vrc=$(run "$IO" "$fmt" v.img v.out "$@")
	mask q.out >q.m
	mask v.out >v.m
	if cmp -s q.m v.m; then ok "$name: output lines match qemu-io's ($(wc -l <q.m) lines)"
	else bad "$name: output differs from qemu-io's:
$(diff q.m v.m | head -20)"; fi
	if [ "$qrc" = "$vrc" ]; then ok "$name: exit status $vrc as qemu-io"
	else bad "$name: exit status $vrc, qemu-io $qrc"; fi
}

CMDS="write -P 0xab 0 64k|write -z 1M 64k|read -P 0xab 0 64k|read -P 0xac 0 4k|read -v 0 48|alloc 0 1M|discard 128k 64k|length|writev -P 1 2M 4k 4k|readv -P 1 2M 4k 4k|read -P 1 2M 8k|read 0 abc|read 100M 4k|write -P 7 4095 3|read -v 4092 8|flush|map|info"
# IFS split of CMDS into arguments.
commands() { old=$IFS; IFS='|'; set -- $CMDS; IFS=$old; for c; do printf '%s\n' "$c"; done; }

qemu-img create -q -f raw base.raw 4M
old=$IFS; IFS='|'; set -- $CMDS; IFS=$old
compare_io "raw" raw base.raw "$@"

# Status: all reads match → 0; one mismatch → non-zero, with qemu-io's line.
"$IO" -f raw -c 'write -P 0x5a 0 64k' -c 'read -P 0x5a 0 64k' v.img >/dev/null 2>&1
[ $? -eq 0 ] && ok "matching pattern: exit 0" || bad "matching pattern: non-zero exit"
"$IO" -f raw -c 'read -P 0x5b 512 4k' v.img >v.out 2>&1
rc=$?
if [ $rc -ne 0 ] && grep -q '^Pattern verification failed at offset 512, 4096 bytes$' v.out; then
	ok "pattern mismatch: exit $rc and qemu-io's line"
else bad "pattern mismatch: exit $rc, $(cat v.out)"; fi
compare_io "read -s/-l verifies a sub-range" raw base.raw 'write -P 0x5a 0 8k' 'write -P 0x11 4k 1k' \
	'read -P 0x5a -s 0 -l 4k 0 8k' 'read -P 0x5a -s 4k -l 1k 0 8k' 'read -P 0x11 -s 4k -l 1k 0 8k'

# vmm-img bench: qemu-img bench's lines, and the writes really land.
qemu-img create -q -f raw b.raw 1M
for args in "-c 100 -d 8" "-c 300 -d 4 -w --pattern=90 -s 8k -S 16k -o 4096"; do
	qemu-img bench -f raw $args b.raw >q.out 2>&1
	"$IMG" bench -f raw $args b.raw >v.out 2>&1
	if [ "$(head -1 q.out)" = "$(head -1 v.out)" ] && grep -q '^Run completed in [0-9]*\.[0-9][0-9][0-9] seconds\.$' v.out; then
		ok "bench $args: $(head -1 v.out)"
	else bad "bench $args: '$(cat v.out)' vs qemu-img '$(cat q.out)'"; fi
done
# Numbers as qemu-img takes them: counts in C syntax (0x, 0 octal, no
# suffix), sizes with suffixes or in hex; -q does not hide bench's lines;
# the same exit status and lines (times masked), errors included (qemu-img
# splits its size hint over two lines, vmm-img prints it on one).
for args in "-c 0x10 -d 010 -s 8k -S 0x2000" "-c 0" "-q -c 2" "-c 3 -d 5000" "-c 1k" "-c -1" \
	"--pattern=0x100 -w" "-c 4 -w --pattern=0x5a --flush-interval=0x10 -d 2" "-c 4 -w --flush-interval=2" \
	"-c 2 -s 0x1.5" "-c 1 -s 0" "-c 1 -S 3G" "-c 1 -o 0x1000"; do
	qemu-img bench -f raw $args b.raw >q.out 2>&1
	qrc=$?
	"$IMG" bench -f raw $args b.raw >v.out 2>&1
	vrc=$?
	q=$(sed 's/^qemu-img: //; s/in [0-9.]* seconds/in T seconds/' q.out | tr '\n' ' ')
	v=$(sed 's/^vmm-img: //; s/in [0-9.]* seconds/in T seconds/' v.out | tr '\n' ' ')
	if [ "$q" = "$v" ] && [ $qrc -eq $vrc ]; then ok "bench $args: exit $vrc, $(head -1 v.out)"
	else bad "bench $args: exit $vrc '$(cat v.out)' vs qemu-img exit $qrc '$(cat q.out)'"; fi
done
qemu-img create -q -f raw b.raw 1M
"$IMG" bench -f raw -c 64 -d 16 -w --pattern=90 -s 16k -S 16k b.raw >/dev/null 2>&1
check "bench -w wrote its pattern over the whole 1 MiB" qemu-io -f raw -c 'read -P 90 0 1M' b.raw

if qcow2_ready; then
	qemu-img create -q -f qcow2 base.qcow2 4M
	compare_io "qcow2" qcow2 base.qcow2 "$@"
	compare_io "qcow2 compressed write" qcow2 base.qcow2 'write -c -P 0x3c 64k 64k' 'read -P 0x3c 64k 64k' 'map' 'alloc 0 256k'
	qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 over.qcow2
	compare_io "qcow2 over a backing file" qcow2 over.qcow2 'write -P 2 0 4k' 'map' 'alloc 0 64k' 'alloc 64k 64k' 'read -P 0 1M 4k'
else
	echo "skip: qcow2 half (the qcow2 driver is a stub)"
	skipped=$((skipped + 1))
fi
finish
