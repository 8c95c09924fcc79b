# Shared by the vmm-img/vmm-io interop tests: tool paths, a scratch directory,
# pass/fail counting, and the qcow2-driver-readiness probe (skip only while
# the driver's open returns -ENOTSUP, never otherwise).
# Usage: . lib.sh "$@"   (arguments: path/to/vmm-img path/to/vmm-io)
IMG=${1:?usage: $0 path/to/vmm-img path/to/vmm-io}
IO=${2:?usage: $0 path/to/vmm-img path/to/vmm-io}
case $IMG in /*) ;; *) IMG=$PWD/$IMG ;; esac
case $IO in /*) ;; *) IO=$PWD/$IO ;; esac
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
pass=0 fail=0 skipped=0

if ! command -v qemu-img >/dev/null 2>&1 || ! command -v qemu-io >/dev/null 2>&1; then
	echo "SKIP: qemu-img/qemu-io not installed (scripts/install-deps)"
	exit 77
fi

ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
# check "description" command...: the command must succeed.
check() {
	desc=$1; shift
	if "$@" >"$T/.out" 2>&1; then ok "$desc"; else bad "$desc: $(head -c 600 "$T/.out")"; fi
}
# same "description" a b: files are byte-identical.
same() {
	if cmp -s "$2" "$3"; then ok "$1"; else bad "$1: $(cmp "$2" "$3" 2>&1 | head -1)"; fi
}

# 1 when vmm's qcow2 driver opens images, 0 while it is a stub (-ENOTSUP).
qcow2_ready() {
	qemu-img create -q -f qcow2 "$T/.probe.qcow2" 1M
	if "$IMG" info "$T/.probe.qcow2" >"$T/.probe.out" 2>&1; then
		return 0
	fi
	if grep -q "Operation not supported" "$T/.probe.out"; then
		return 1
	fi
	return 0   # any other failure is a real one: let the test see it
}

finish() {
	echo "$pass passed, $fail failed, $skipped skipped"
	[ "$fail" -eq 0 ] || exit 1
	[ "$skipped" -eq 0 ] || exit 77
	exit 0
}

# same_json "description" a.json b.json [key...]: equal JSON documents after
# dropping the named top-level keys (from every object of a top-level list too).
same_json() {
	desc=$1 a=$2 b=$3
	shift 3
	if python3 - "$a" "$b" "$@" >"$T/.json" 2>&1 <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
drop = sys.argv[3:]
def clean(x):
    if isinstance(x, list):
        return [clean(e) for e in x]
    if isinstance(x, dict):
        return {k: v for k, v in x.items() if k not in drop}
    return x
a, b = clean(a), clean(b)
if a != b:
    print("vmm:  ", json.dumps(a, sort_keys=True))
    print("qemu: ", json.dumps(b, sort_keys=True))
    sys.exit(1)
PY
	then ok "$desc"; else bad "$desc: $(cat "$T/.json")"; fi
}
