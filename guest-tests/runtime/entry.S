/* Guest runtime entry: multiboot 0.6.96 header and 32-bit entry (section 3.1,
 * 3.2 machine state), long mode on static identity page tables (Intel SDM
 * vol. 3A 9.8.5), the AP real-mode trampoline (SDM 8.4.4.1 INIT-SIPI-SIPI),
 * exception stubs, and the iretq drop to ring 3 with IOPL=3. */
#include "rt_asm.h"

	.section .multiboot, "a"
	.align 4
	.long 0x1badb002
	.long 0x00000003            /* page-align modules, want memory info */
	.long -(0x1badb002 + 0x00000003)

	.section .text.entry, "ax"
	.code32
	.globl _start
_start:
	cli
	cld
	mov %eax, rt_mb_magic
	mov %ebx, rt_mb_info
	lgdt rt_gdtr
	ljmp $SEL_KCODE32, $1f
1:	mov $SEL_KDATA, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov %ax, %fs
	mov %ax, %gs
	xor %esi, %esi              /* CPU index 0 */
	/* fall through */

/* ESI = CPU index, flat 32-bit segments, paging off. */
lm_enter32:
	mov %cr4, %eax
	or $(CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT), %eax
	mov %eax, %cr4
	mov $rt_pml4, %eax
	mov %eax, %cr3
	mov $MSR_EFER, %ecx
	rdmsr
	or $EFER_LME, %eax
	wrmsr
	mov %cr0, %eax
	and $~(CR0_EM | CR0_TS), %eax
	or $(CR0_PG | CR0_MP | CR0_PE), %eax
	mov %eax, %cr0
	ljmp $SEL_KCODE64, $lm_enter64

/* Real-mode trampoline for the APs, copied to RT_AP_TRAMPOLINE (a SIPI vector
 * page) by rt_start_ap(). Position independent within its page. */
	.code16
	.globl rt_ap_tramp_start, rt_ap_tramp_end
rt_ap_tramp_start:
	cli
	cld
	mov %cs, %ax
	mov %ax, %ds
	lgdtl %ds:(ap_gdtr - rt_ap_tramp_start)
	mov %cr0, %eax
	or $CR0_PE, %eax
	mov %eax, %cr0
	ljmpl $SEL_KCODE32, $ap_entry32
	.align 4
ap_gdtr:
	.word RT_GDT_BYTES - 1
	.long rt_gdt
rt_ap_tramp_end:

	.code32
ap_entry32:
	mov $SEL_KDATA, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov %ax, %fs
	mov %ax, %gs
	mov rt_ap_boot_cpu, %esi
	jmp lm_enter32

	.code64
lm_enter64:
	mov $SEL_KDATA, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	xor %eax, %eax
	mov %ax, %fs
	mov %ax, %gs
	mov %esi, %edi              /* zero-extends: RDI = CPU index */
	lea 1(%rdi), %rax
	shl $KSTACK_SHIFT, %rax
	add $rt_kstacks, %rax
	mov %rax, %rsp
	push %rdi
	push %rdi                   /* keep RSP 16-byte aligned at the call */
	call rt_cpu_setup           /* CPL0 C: TSS, IDT, ring-0 hook */
	pop %rdi
	pop %rdi
	lea 1(%rdi), %rax
	shl $USTACK_SHIFT, %rax
	add $rt_ustacks, %rax
	push $(SEL_UDATA | 3)
	push %rax
	push $(RFLAGS_IOPL3 | RFLAGS_RSVD1)
	push $(SEL_UCODE64 | 3)
	push $rt_user_start
	iretq

/* Ring 3, RDI = CPU index, RSP 16-byte aligned. */
rt_user_start:
	fninit
	call rt_user_entry
	ud2

/* Exception stubs, 16 bytes apart: push a zero error code where the CPU does
 * not, then the vector, and go to the common path. */
	.align 16
	.globl rt_exc_stubs
rt_exc_stubs:
	.set vec, 0
	.rept 32
	.align 16
	.if (vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
	.else
	push $0
	.endif
	push $vec
	jmp exc_common
	.set vec, vec + 1
	.endr

exc_common:
	push %rax
	push %rbx
	push %rcx
	push %rdx
	push %rsi
	push %rdi
	push %rbp
	push %r8
	push %r9
	push %r10
	push %r11
	push %r12
	push %r13
	push %r14
	push %r15
	mov %rsp, %rdi
	and $~15, %rsp
	call rt_exception
1:	cli
	hlt
	jmp 1b

/* Identity map of 0..4 GiB with 2 MiB pages, user accessible everywhere;
 * the top GiB (PCI hole, IOAPIC, LAPIC) uncached. */
	.section .data.pt, "aw"
	.align 4096
	.globl rt_pml4
rt_pml4:
	.quad rt_pdpt + 7
	.fill 511, 8, 0
rt_pdpt:
	.quad rt_pd + 7, rt_pd + 0x1007, rt_pd + 0x2007, rt_pd + 0x3007
	.fill 508, 8, 0
rt_pd:
	.set i, 0
	.rept 1536
	.quad (i << 21) | 0x87
	.set i, i + 1
	.endr
	.rept 512
	.quad (i << 21) | 0x9f
	.set i, i + 1
	.endr

	.section .bss
	.align 4096
	.globl rt_kstacks, rt_ustacks
rt_kstacks:
	.space RT_MAX_CPUS << KSTACK_SHIFT
rt_ustacks:
	.space RT_MAX_CPUS << USTACK_SHIFT

	.section .note.GNU-stack, "", @progbits
