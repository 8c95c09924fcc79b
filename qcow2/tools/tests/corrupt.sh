#!/bin/sh
# Untrusted images never crash the tools: qemu-img-made qcow2 images (data,
# a snapshot, compressed clusters) with bytes of their metadata overwritten
# (fixed seeds) go through vmm-img info/check/map/convert and vmm-io read.
# Each run must end with a status a tool gives on purpose (0..3, 63), never a
# signal or a sanitizer report (ASAN/UBSAN exit code 99 here).
. "$(dirname "$0")/lib.sh"

if ! qcow2_ready; then
	echo "SKIP: the qcow2 driver is a stub (open returns -ENOTSUP)"
	exit 77
fi
export ASAN_OPTIONS="exitcode=99:detect_leaks=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="exitcode=99:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
ROUNDS=${VMM_CORRUPT_ROUNDS:-12}

qemu-img create -q -f qcow2 -o cluster_size=4k orig.qcow2 1M
qemu-io -f qcow2 -c 'write -P 1 0 64k' -c 'write -z 128k 8k' orig.qcow2 >/dev/null
qemu-img snapshot -c s1 orig.qcow2
qemu-io -f qcow2 -c 'write -P 2 32k 64k' orig.qcow2 >/dev/null
qemu-img create -q -f raw src.raw 64k
qemu-io -f raw -c 'write -P 3 0 64k' src.raw >/dev/null
qemu-img convert -c -O qcow2 -o cluster_size=4k src.raw comp.qcow2
end=$(stat -c %s orig.qcow2)

# run DESC command...: a purposeful exit status.
run() {
	desc=$1
	shift
	timeout 60 "$@" >/dev/null 2>"$T/err"
	rc=$?
	if [ $rc -le 3 ] || [ $rc -eq 63 ]; then
		return 0
	fi
	bad "$desc: exit $rc: $(head -5 "$T/err")"
	return 1
}

i=0
while [ $i -lt "$ROUNDS" ]; do
	base=orig.qcow2
	[ $((i % 3)) -eq 2 ] && base=comp.qcow2
	cp $base m.qcow2
	# Overwrite 1..8 random bytes in the first 48 KiB (header, L1/L2 and
	# refcount tables, snapshot table) with random values.
	python3 - m.qcow2 $i <<'PY'
import random, sys
r = random.Random(int(sys.argv[2]))
f = open(sys.argv[1], "r+b")
size = f.seek(0, 2)
for _ in range(r.randint(1, 8)):
    off = r.choice([r.randrange(0, 104), r.randrange(0, min(size, 48 * 1024))])
    f.seek(off)
    f.write(bytes([r.randrange(256)]))
PY
	failed=0
	run "round $i: info" "$IMG" info m.qcow2 || failed=1
	run "round $i: check" "$IMG" check m.qcow2 || failed=1
	run "round $i: map" "$IMG" map --output=json m.qcow2 || failed=1
	rm -f out.raw
	run "round $i: convert" "$IMG" convert -O raw m.qcow2 out.raw || failed=1
	run "round $i: vmm-io read" "$IO" -c 'read 0 64k' -c 'read 120k 16k' m.qcow2 || failed=1
	run "round $i: snapshot -l" "$IMG" snapshot -l m.qcow2 || failed=1
	[ $failed -eq 0 ] && ok "round $i ($base): no crash"
	i=$((i + 1))
done
finish
