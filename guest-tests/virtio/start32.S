/* Minimal multiboot v1 entry for the virtio test guests when they are built
 * standalone (32-bit protected mode, flat segments from the loader, paging
 * off, so BARs below 4 GiB are reachable at their physical addresses).
 * Multiboot spec 0.6.96 section 3.1. */
	.section .multiboot, "a"
	.align 4
	.long 0x1badb002
	.long 0x00000003            /* page-align modules, want memory info */
	.long -(0x1badb002 + 0x00000003)

	.text
	.globl _start
_start:
	cli
	mov $stack_top, %esp
	/* IOPL does not matter at CPL0; port I/O just works. */
	call main
	push %eax
	call vg_exit_c
1:	hlt
	jmp 1b

	.bss
	.align 16
stack:
	.space 16384
stack_top:
	.section .note.GNU-stack, "", @progbits
