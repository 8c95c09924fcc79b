/* A 512-byte MBR boot sector for tests/disk_boot.sh: the BIOS loads it at
 * 0000:7c00 and jumps to it in real mode with DL = boot drive (BIOS Boot
 * Specification 1.01, 6.5.1). It prints "VMM-MBR-OK drive=0xNN" on COM1 by
 * port I/O (no BIOS calls), then writes 0x2a to isa-debug-exit (port 0xf4:
 * the VMM exits with status 0x2a * 2 + 1 = 85) and halts.
 * Build: as --32 -o mbr.o mbr.S && ld -m elf_i386 -Ttext 0x7c00 --oformat binary -o mbr.bin mbr.o */
	.code16
	.text
	.globl _start
_start:
	cli
	xor	%ax, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	$0x7c00, %sp
	ljmp	$0, $1f			/* CS:IP = 0000:7cxx whatever the BIOS used */
1:	mov	%dl, drive
	/* SeaBIOS's serial console (sercon) buffers its text and flushes it
	 * from the timer interrupt: let 8 ticks (~440 ms) pass with interrupts
	 * on so that "Booting from Hard Disk..." is out before our line. */
	sti
	mov	$8, %cx
5:	hlt
	loop	5b
	cli
	mov	$msg, %si
	call	puts
	mov	drive, %al		/* the boot drive in hex */
	shr	$4, %al
	call	puthex
	mov	drive, %al
	call	puthex
	mov	$nl, %si
	call	puts
	mov	$0xf4, %dx		/* isa-debug-exit */
	mov	$0x2a, %al
	out	%al, %dx
2:	hlt				/* without isa-debug-exit: stay here */
	jmp	2b

/* puthex: the low nibble of AL as one hex digit */
puthex:
	and	$0x0f, %al
	add	$'0', %al
	cmp	$'9', %al
	jbe	putc
	add	$('a' - '9' - 1), %al
	/* fall through */
/* putc: AL to COM1 once the transmitter holding register is empty (LSR bit 5) */
putc:
	mov	%al, %bl
	mov	$0x3fd, %dx
3:	in	%dx, %al
	test	$0x20, %al
	jz	3b
	mov	$0x3f8, %dx
	mov	%bl, %al
	out	%al, %dx
	ret

/* puts: the NUL-terminated string at DS:SI */
puts:
	lodsb
	test	%al, %al
	jz	4f
	call	putc
	jmp	puts
4:	ret

msg:	.asciz	"VMM-MBR-OK drive=0x"
nl:	.asciz	"\r\n"
drive:	.byte	0

	.org	510
	.byte	0x55, 0xaa
