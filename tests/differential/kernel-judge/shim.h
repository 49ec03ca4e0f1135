/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * The kernel, as far as the purgatory part of the patched kernel/kexec_file.c
 * uses it, in user space: types, error pointers, a few macros, allocation,
 * logging, the lockdown check, the read of kexec_file.purgatory= and
 * kexec_add_buffer(). Written for this harness, not copied from Linux: each
 * definition does what the kernel's does for the calls that code makes, and
 * says so where it does less.
 *
 * The ELF types come from the tree's own include/uapi/linux/elf.h.
 */
#ifndef KJUDGE_SHIM_H
#define KJUDGE_SHIM_H

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include <linux/elf.h>

/* As the kernel's <asm-generic/int-ll64.h>: u64 is unsigned long long. */
typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s64 s64;

/* x86_64's <asm/elf.h> and <asm-generic/module.h>. */
#define ELF_CLASS ELFCLASS64
#define ELF_DATA ELFDATA2LSB
#define elf_check_arch(x) ((x)->e_machine == EM_X86_64)
typedef Elf64_Ehdr Elf_Ehdr;
typedef Elf64_Phdr Elf_Phdr;
typedef Elf64_Shdr Elf_Shdr;
typedef Elf64_Sym Elf_Sym;

/* <linux/sizes.h> (int constants, as the kernel's) and the page size. */
#define SZ_2M 0x00200000
#define SZ_16M 0x01000000
#define PAGE_SIZE 4096UL

/* <linux/err.h>: the top 4095 addresses are errno values. */
#define KJUDGE_MAX_ERRNO 4095
#define ERR_PTR(error) ((void *)(long)(error))
#define PTR_ERR(ptr) ((long)(ptr))
#define IS_ERR(ptr) \
	((unsigned long)(const void *)(ptr) >= (unsigned long)-KJUDGE_MAX_ERRNO)

/* <linux/minmax.h>, <linux/align.h>, <linux/overflow.h>. */
#define max_t(type, a, b) \
	({ type kj_a = (a), kj_b = (b); kj_a > kj_b ? kj_a : kj_b; })
#define min_t(type, a, b) \
	({ type kj_a = (a), kj_b = (b); kj_a < kj_b ? kj_a : kj_b; })
#define ALIGN(x, a) (((x) + ((a) - 1)) & ~((__typeof__(x))(a) - 1))
static inline size_t array_size(size_t a, size_t b)
{
	size_t bytes;

	return __builtin_mul_overflow(a, b, &bytes) ? SIZE_MAX : bytes;
}

/*
 * printk: every message is recorded with its source line (the #line
 * directives make that kexec_file.c's line), so that a refusal names the
 * check that made it. pr_debug is recorded too: find_symbol's refusal of a
 * bad section index is a debug message.
 */
enum kjudge_level { KJUDGE_DEBUG, KJUDGE_NOTICE, KJUDGE_ERR };
__attribute__((format(printf, 3, 4))) static void
kjudge_log(enum kjudge_level level, int line, const char *fmt, ...);
#define pr_err(...) kjudge_log(KJUDGE_ERR, __LINE__, __VA_ARGS__)
#define pr_notice(...) kjudge_log(KJUDGE_NOTICE, __LINE__, __VA_ARGS__)
#define pr_debug(...) kjudge_log(KJUDGE_DEBUG, __LINE__, __VA_ARGS__)

/* A module parameter: the harness sets the string itself. */
#define module_param_string(name, string, len, perm) \
	_Static_assert(sizeof(string) == (len), #name)
#define MODULE_PARM_DESC(name, text) _Static_assert(sizeof(text) > 1, #name)

/* <linux/vmalloc.h>: memory that faults right past its end. */
static void *vzalloc(unsigned long size);
static void vfree(const void *addr);

/* <linux/security.h>: this kernel is not locked down. */
enum lockdown_reason { LOCKDOWN_KEXEC };
static inline int security_locked_down(enum lockdown_reason what)
{
	(void)what;
	return 0;
}

/* <linux/kernel_read_file.h>: the file is the one under judgment. */
enum kernel_read_file_id { READING_KEXEC_IMAGE };
static ssize_t kernel_read_file_from_path(const char *path, loff_t offset,
					  void **buf, size_t buf_size,
					  size_t *file_size,
					  enum kernel_read_file_id id);

/*
 * The purgatory built into the kernel. Never read: kexec_file.purgatory=
 * always names the file under judgment, which replaces it.
 */
static const unsigned char kexec_purgatory[1];
static const size_t kexec_purgatory_size = sizeof(kexec_purgatory);

struct kexec_buf;
static int kexec_add_buffer(struct kexec_buf *kbuf);

/*
 * x86's relocation of an ET_REL purgatory. Unreachable: a purgatory read
 * from a file is refused when it is ET_REL, before any relocation.
 */
static int kjudge_unreachable(const char *what);
#define arch_kexec_apply_relocations_add(pi, section, relsec, symtab) \
	kjudge_unreachable("RELA relocation")
#define arch_kexec_apply_relocations(pi, section, relsec, symtab) \
	kjudge_unreachable("REL relocation")

#endif /* KJUDGE_SHIM_H */
