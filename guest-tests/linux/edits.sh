#!/bin/sh
# Source edits applied to the pristine linux-6.1 tree (run in its top directory).
# On PVM-style hosts the CPL0 instruction emulator cannot run `int3` in 64-bit
# mode nor `fwait` (shared/HOST-KVM.md); both edits are harmless elsewhere.
set -eu
# 1. int3_selftest(): return before it executes its int3.
grep -q 'int3_selftest(void)' arch/x86/kernel/alternative.c
sed -i '/^static noinline void __init int3_selftest(void)$/,/^}$/ s/^\tunsigned int val = 0;$/&\n\n\treturn; \/* vmm test kernel: no int3 at CPL0 on PVM hosts *\//' \
	arch/x86/kernel/alternative.c
grep -q 'vmm test kernel: no int3' arch/x86/kernel/alternative.c
# 2. fpu__drop(): no fwait for delayed x87 exceptions.
sed -i 's/asm volatile("1: fwait\\n"/asm volatile("1: \/* vmm test kernel: no fwait *\/\\n"/' \
	arch/x86/kernel/fpu/core.c
grep -q 'vmm test kernel: no fwait' arch/x86/kernel/fpu/core.c
