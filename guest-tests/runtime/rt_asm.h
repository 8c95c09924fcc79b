/* Constants shared by the runtime's assembly and C: GDT selectors, control
 * register bits (Intel SDM vol. 3A 2.5), stack sizes. Runtime-internal. */
#ifndef GUEST_TESTS_RT_ASM_H
#define GUEST_TESTS_RT_ASM_H

#define SEL_KCODE64 0x08
#define SEL_KDATA   0x10
#define SEL_KCODE32 0x18
#define SEL_UDATA   0x20
#define SEL_UCODE64 0x28
#define SEL_TSS0    0x30        /* 16 bytes per CPU */
#define RT_MAX_CPUS 16
#define RT_GDT_BYTES (SEL_TSS0 + 16 * RT_MAX_CPUS)

#define KSTACK_SHIFT 13         /* 8 KiB ring-0 stack per CPU */
#define USTACK_SHIFT 16         /* 64 KiB ring-3 stack per CPU */

#define CR0_PE (1 << 0)
#define CR0_MP (1 << 1)
#define CR0_EM (1 << 2)
#define CR0_TS (1 << 3)
#define CR0_PG (1 << 31)
#define CR4_PAE (1 << 5)
#define CR4_OSFXSR (1 << 9)
#define CR4_OSXMMEXCPT (1 << 10)
#define MSR_EFER 0xc0000080
#define EFER_LME (1 << 8)
#define RFLAGS_RSVD1 0x2
#define RFLAGS_IOPL3 0x3000

#endif
