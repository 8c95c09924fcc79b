#!/bin/sh
# The seccomp sandbox (vmm/sandbox.h) with the hello test guest:
#  1. -sandbox on: the guest runs to PASS and exits through isa-debug-exit
#     (status 1), so its syscalls (set-up, vCPU, serial) are all allowed;
#  2. a forbidden syscall in a vCPU thread (hook VMM_TEST_FORBIDDEN_SYSCALL=vcpu)
#     ends the process with status 3 and "vmm: seccomp: thread vcpu0 made
#     forbidden syscall 135 (personality)";
#  3. the same on the main thread ("thread vmm");
#  4. -sandbox off: the hook's syscall is harmless and the guest passes;
#  5. -sandbox on,action=log: allowed but logged by the kernel, guest passes;
#  6. no -sandbox option: as 2 (on by default; not checked when
#     VMM_ASAN_BUILD is set: ASan builds default to off, vmm/cli.h).
# Usage: seccomp.sh path/to/vmm guest-dir. Exit 0 pass, 1 fail, 77 skip (no /dev/kvm).
VMM=${1:?usage: seccomp.sh vmm guest-dir}
G=${2:?usage: seccomp.sh vmm guest-dir}/hello.elf
[ -c "${VMM_KVM_DEVICE:-/dev/kvm}" ] || { echo "skip: no /dev/kvm"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

run() {   # run NAME WANT_STATUS ENV_HOOK SANDBOX_ARG -- checks and prints
	name=$1 want=$2 hook=$3 sb=$4
	VMM_TEST_FORBIDDEN_SYSCALL=$hook timeout 300 "$VMM" -m 64M -nographic \
		-device isa-debug-exit,iobase=0xf4,iosize=4 ${sb:+-sandbox "$sb"} -kernel "$G" \
		-append hello=world </dev/null >"$tmp/$name.out" 2>"$tmp/$name.err"
	st=$?
	if [ "$st" != "$want" ]; then
		echo "FAIL $name: exit status $st, expected $want"; sed 's/^/  err: /' "$tmp/$name.err" | head -20
		fail=1
		return 1
	fi
	return 0
}

if run on 1 "" on && grep -q '^PASS' "$tmp/on.out"; then echo "ok on: guest passes under the sandbox"
else echo "FAIL on: no PASS"; fail=1; fi

if run vcpu 3 vcpu on && grep -q 'vmm: seccomp: thread vcpu0 made forbidden syscall 135 (personality)' "$tmp/vcpu.err"
then echo "ok vcpu: forbidden syscall in the vCPU thread kills the process"
else echo "FAIL vcpu"; cat "$tmp/vcpu.err"; fail=1; fi

if run main 3 main on && grep -q 'vmm: seccomp: thread .* made forbidden syscall 135 (personality)' "$tmp/main.err"
then echo "ok main: forbidden syscall in the main thread kills the process"
else echo "FAIL main"; cat "$tmp/main.err"; fail=1; fi

# 6. no -sandbox option: the default (on in release builds) kills too.
if [ -z "${VMM_ASAN_BUILD:-}" ]; then
	if run default 3 vcpu "" && grep -q 'vmm: seccomp: thread vcpu0 made forbidden syscall 135' "$tmp/default.err"
	then echo "ok default: the sandbox is on by default"
	else echo "FAIL default: without -sandbox the forbidden syscall was allowed"; cat "$tmp/default.err"; fail=1; fi
fi

if run off 1 vcpu off && grep -q '^PASS' "$tmp/off.out"; then echo "ok off: -sandbox off allows it"
else echo "FAIL off"; fail=1; fi

if run log 1 vcpu on,action=log && grep -q '^PASS' "$tmp/log.out"; then echo "ok log: action=log allows it"
else echo "FAIL log"; fail=1; fi

exit $fail
