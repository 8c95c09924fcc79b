#!/bin/sh
# Set-up errors of the vmm binary: each must exit with status 1 and print
# exactly one line on stderr that names the option, value or file at fault.
# Usage: cli_errors.sh path/to/vmm
VMM=${1:?usage: cli_errors.sh path/to/vmm}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0 pass=0

# expect "description" "substring of the message" command...
expect() {
	desc=$1 want=$2
	shift 2
	"$@" </dev/null >"$tmp/out" 2>"$tmp/err"
	rc=$?
	lines=$(wc -l <"$tmp/err")
	if [ "$rc" -ne 1 ] || [ "$lines" -ne 1 ] || ! grep -qF -- "$want" "$tmp/err"; then
		echo "FAIL: $desc: exit $rc, $lines stderr lines (want 1, containing '$want'):"
		sed 's/^/    /' "$tmp/err"
		fail=$((fail + 1))
	else
		echo "ok: $desc: $(cat "$tmp/err")"
		pass=$((pass + 1))
	fi
}

printf 'this is not a kernel\n' >"$tmp/notakernel"
expect "unknown option" "-frobnicate" "$VMM" -frobnicate
expect "bad -m" "-m: invalid size 'abc'" "$VMM" -m abc
expect "missing argument" "-kernel" "$VMM" -kernel
expect "unknown -cpu model" "pentium" "$VMM" -cpu pentium
expect "missing kernel file" "$tmp/nonexistent" "$VMM" -serial null -kernel "$tmp/nonexistent"
expect "non-kernel file" "$tmp/notakernel" "$VMM" -serial null -kernel "$tmp/notakernel"
if [ -r /etc/hostname ]; then
	expect "/etc/hostname as kernel" "/etc/hostname" "$VMM" -serial null -kernel /etc/hostname
fi
expect "-m bigger than the host" "-m" "$VMM" -serial null -m 1000T -kernel "$tmp/notakernel"
expect "no /dev/kvm" "/nonexistent not found: is the kvm module loaded?" env VMM_KVM_DEVICE=/nonexistent "$VMM" -serial null -kernel "$tmp/notakernel"
expect "bad serial file" "$tmp/nodir/x" "$VMM" -serial "file:$tmp/nodir/x" -kernel "$tmp/notakernel"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
