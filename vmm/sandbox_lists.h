/* The seccomp allow-lists of vmm's sandbox (docs/security.md), as
 * libseccomp filters. Used at build time only: vmm/sandbox_gen.c exports
 * them to classic BPF (sandbox_bpf.h, loaded by vmm/sandbox.c with
 * seccomp(2)), and tests/test_sandbox_bpf.c checks the exported programs
 * against them. Linux seccomp(2), libseccomp seccomp_rule_add(3). */
#ifndef VMM_SANDBOX_LISTS_H
#define VMM_SANDBOX_LISTS_H

#include <seccomp.h>

enum sandbox_list { SANDBOX_LIST_PROCESS = 0, SANDBOX_LIST_VCPU = 1 };

/* Builds one list's filter: default action SCMP_ACT_TRAP (SCMP_ACT_LOG
 * when log_mode), the calls and ioctl request types the list allows, and
 * with sanitizer != 0 the extra calls ASan/LSan builds need (else, process
 * list only, prctl PR_SET_NAME/PR_GET_NAME). *out is the caller's to
 * seccomp_release(). 0 or a negative errno. */
int sandbox_lists_build(scmp_filter_ctx *out, enum sandbox_list list, int log_mode, int sanitizer);

/* A syscall's name on the native architecture (libseccomp's table), or
 * NULL; the caller frees it. */
char *sandbox_lists_syscall_name(int nr);

#endif
