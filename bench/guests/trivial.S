/* bench/guests/trivial.S: the launch benchmark's guest. Writes one byte ('!')
 * to COM1 and exits through isa-debug-exit (iobase 0xf4: exit status 1).
 * One 32-bit ELF that vmm and QEMU boot with -kernel: a multiboot 0.6.96
 * header (section 3.1, for vmm and QEMU -M pc) and a Xen PVH
 * XEN_ELFNOTE_PHYS32_ENTRY note (xen/include/public/elfnote.h, for QEMU
 * -M microvm, whose qboot firmware takes PVH kernels). Both enter at _start
 * in 32-bit protected mode with paging off; the guest touches no memory.
 * Built twice: trivial.elf exits, trivial-spin.elf (-DSPIN) halts after the
 * byte, so that bench/startup.py can read the VMM's memory while it runs. */

	.section .multiboot, "a"
	.align 4
	.long 0x1badb002
	.long 0x00000000
	.long -0x1badb002

	.section .note.Xen, "a"
	.align 4
	.long 4              /* namesz */
	.long 4              /* descsz */
	.long 18             /* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.long _start

	.section .text, "ax"
	.code32
	.globl _start
_start:
	mov $0x3f8, %dx
	mov $0x21, %al
	out %al, %dx
#ifndef SPIN
	mov $0xf4, %dx
	xor %eax, %eax
	out %eax, %dx
#endif
1:	cli
	hlt
	jmp 1b
