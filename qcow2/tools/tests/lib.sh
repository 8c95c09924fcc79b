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
# dropping the named top-level keys (from every object of a top-level list too);
# "offset@zero" drops "offset" only from map entries that read as zeroes
# without data (qemu names the host cluster behind a zero cluster; the block
# layer's status reports a host offset only for data).
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
        zero_only = x.get("zero") is True and x.get("data") is False
        return {k: v for k, v in x.items()
                if k not in drop and not (k == "offset" and zero_only and "offset@zero" in drop)}
    return x
a, b = clean(a), clean(b)
def merge(l):
    # Without offsets, neighbouring zero entries qemu kept apart are one run.
    out = []
    for e in l:
        p = out[-1] if out else None
        if p is not None and "offset" not in p and "offset" not in e and \
           p["start"] + p["length"] == e["start"] and \
           all(p[k] == e[k] for k in ("depth", "present", "zero", "data")):
            p["length"] += e["length"]
        else:
            out.append(dict(e))
    return out
if "offset@zero" in drop and isinstance(a, list) and isinstance(b, list):
    a, b = merge(a), merge(b)
if a != b:
    print("vmm:  ", json.dumps(a, sort_keys=True))
    print("qemu: ", json.dumps(b, sort_keys=True))
    sys.exit(1)
PY
	then ok "$desc"; else bad "$desc: $(cat "$T/.json")"; fi
}
