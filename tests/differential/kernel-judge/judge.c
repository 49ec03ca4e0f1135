/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * The harness around the patched kernel's purgatory code, which the build
 * compiles just above this file in one translation unit (see build.rs).
 *
 * kjudge_judge() does with a file what Linux does with the purgatory during
 * kexec_file_load() of an x86 bzImage, with kexec_file.purgatory= naming the
 * file: kexec_load_purgatory(), then the bzImage loader's accesses to
 * entry64_regs and stack_end, then the digest code's stores. Those callers
 * are arch and generic code this harness does not compile, so their calls
 * are repeated here with the kernel's own names and struct sizes. Then it
 * reads back where each store landed, which is the reading the other judges
 * are compared with.
 *
 * Every buffer the kernel code reads or writes ends right at an inaccessible
 * page, so a read past the file or past purgatory_buf faults; the fault is
 * caught and reported as the judge's fault, never taken for a verdict.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

/* Where the placement shim puts the segment: placement is not judged. */
#define KJUDGE_LOAD_MIN (16UL << 20)
/* The bzImage loader's values for the registers it sets. */
#define KJUDGE_BOOT_PARAMS 0x90000UL
#define KJUDGE_KERNEL 0x100000UL
#define KJUDGE_KERNEL_ENTRY64 0x200UL
/* The largest store the callers make: the region table. */
#define KJUDGE_MAX_STORE (KEXEC_SEGMENT_MAX * sizeof(struct kexec_sha_region))

enum kjudge_status { KJUDGE_ACCEPTED, KJUDGE_REFUSED, KJUDGE_FAULTED };
enum kjudge_symbol {
	KJUDGE_SHA_REGIONS,
	KJUDGE_DIGEST,
	KJUDGE_ENTRY64_REGS,
	KJUDGE_STACK_END,
	KJUDGE_SYMBOLS
};

/* What Rust reads (`KjudgeResult` in src/kernel.rs). */
struct kjudge_result {
	int status;
	/* A refusal's -errno. */
	int error;
	/* The kexec_file.c line of the refusal's message, 0 if it had none. */
	int line;
	char message[256];
	u64 entry;
	u64 file_size;
	u64 mem_size;
	u64 align;
	u64 offset[KJUDGE_SYMBOLS];
	u64 size[KJUDGE_SYMBOLS];
};

/* One judgment per thread at a time. */
static _Thread_local struct {
	const u8 *file;
	size_t size;
	const u8 *file_copy;
	struct kjudge_result *result;
	sigjmp_buf *fault;
} kj;
static _Thread_local struct kimage kj_image;
static _Thread_local struct kexec_buf kj_kbuf;

static void kjudge_log(enum kjudge_level level, int line, const char *fmt, ...)
{
	va_list args;

	if (level == KJUDGE_NOTICE || !kj.result)
		return;
	kj.result->line = line;
	va_start(args, fmt);
	vsnprintf(kj.result->message, sizeof(kj.result->message), fmt, args);
	va_end(args);
}

/* A harness observation rather than a kernel message. */
static void kjudge_note(const char *what, int ret)
{
	kj.result->line = 0;
	snprintf(kj.result->message, sizeof(kj.result->message),
		 "%s returned %d without a message", what, ret);
}

/* Memory whose last byte is followed by an inaccessible page. */
struct kjudge_mapping {
	void *base;
	size_t length;
};

static void *kjudge_map(size_t size)
{
	size_t data, length;
	u8 *base, *start;
	struct kjudge_mapping mapping;

	if (size > (1UL << 30))
		return NULL;
	data = ALIGN(size + sizeof(mapping), PAGE_SIZE);
	length = data + PAGE_SIZE;
	base = mmap(NULL, length, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return NULL;
	if (mprotect(base + data, PAGE_SIZE, PROT_NONE)) {
		munmap(base, length);
		return NULL;
	}
	start = base + data - size;
	mapping = (struct kjudge_mapping){ base, length };
	memcpy(start - sizeof(mapping), &mapping, sizeof(mapping));
	return start;
}

/* vmalloc() refuses a zero size; the memory comes zeroed from mmap(). */
static void *vzalloc(unsigned long size)
{
	return size ? kjudge_map(size) : NULL;
}

static void vfree(const void *addr)
{
	struct kjudge_mapping mapping;

	if (!addr)
		return;
	memcpy(&mapping, (const u8 *)addr - sizeof(mapping), sizeof(mapping));
	munmap(mapping.base, mapping.length);
}

/* kernel_read_file(): an empty file is -EINVAL, a larger one -EFBIG. */
static ssize_t kernel_read_file_from_path(const char *path, loff_t offset,
					  void **buf, size_t buf_size,
					  size_t *file_size,
					  enum kernel_read_file_id id)
{
	void *copy;

	(void)path;
	(void)offset;
	(void)file_size;
	(void)id;
	if (!kj.size)
		return -EINVAL;
	if (kj.size > buf_size)
		return -EFBIG;
	copy = kjudge_map(kj.size);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, kj.file, kj.size);
	kj.file_copy = copy;
	*buf = copy;
	return kj.size;
}

/*
 * kexec_add_buffer() without the search for memory: it changes the buffer
 * as the kernel's does (memsz rounded up to a page, at least page
 * alignment) and places it at the lowest address above 16 MiB it allows.
 */
static int kexec_add_buffer(struct kexec_buf *kbuf)
{
	kbuf->memsz = ALIGN(kbuf->memsz, PAGE_SIZE);
	kbuf->buf_align = max_t(unsigned long, kbuf->buf_align, PAGE_SIZE);
	kbuf->cma = NULL;
	kbuf->mem = ALIGN(KJUDGE_LOAD_MIN, kbuf->buf_align);
	return 0;
}

static int kjudge_unreachable(const char *what)
{
	snprintf(kj.result->message, sizeof(kj.result->message),
		 "harness: %s reached, but an ET_REL file is refused first",
		 what);
	kj.result->status = KJUDGE_FAULTED;
	return -ENOEXEC;
}

/* The calls of bzImage64_load() and kexec_calculate_store_digests(). */
static int kjudge_callers(struct kimage *image)
{
	struct kexec_sha_region regions[KEXEC_SEGMENT_MAX] = { 0 };
	u8 digest[SHA256_DIGEST_SIZE] = { 0 };
	struct kexec_entry64_regs regs;
	void *stack;
	int ret;

	ret = kexec_purgatory_get_set_symbol(image, "entry64_regs", &regs,
					     sizeof(regs), 1);
	if (ret)
		return ret;
	regs.rbx = 0;
	regs.rsi = KJUDGE_BOOT_PARAMS;
	regs.rip = KJUDGE_KERNEL + KJUDGE_KERNEL_ENTRY64;
	stack = kexec_purgatory_get_symbol_addr(image, "stack_end");
	if (IS_ERR(stack))
		return PTR_ERR(stack);
	regs.rsp = (unsigned long)stack;
	ret = kexec_purgatory_get_set_symbol(image, "entry64_regs", &regs,
					     sizeof(regs), 0);
	if (ret)
		return ret;
	ret = kexec_purgatory_get_set_symbol(image, "purgatory_sha_regions",
					     regions, sizeof(regions), 0);
	if (ret)
		return ret;
	return kexec_purgatory_get_set_symbol(image, "purgatory_sha256_digest",
					      digest, sizeof(digest), 0);
}

/*
 * Where a store of `size` bytes to `name` lands in purgatory_buf: the value
 * read back, every byte inverted, stored, and the changed bytes found.
 */
static int kjudge_locate(struct kimage *image, const char *name,
			 unsigned int size, enum kjudge_symbol which)
{
	const struct purgatory_info *pi = &image->purgatory_info;
	size_t len = kj_kbuf.bufsz, first, last, i;
	u8 value[KJUDGE_MAX_STORE], *before;
	const u8 *now = pi->purgatory_buf;
	int ret;

	if (size > sizeof(value))
		return -E2BIG;
	ret = kexec_purgatory_get_set_symbol(image, name, value, size, 1);
	if (ret)
		return ret;
	for (i = 0; i < size; i++)
		value[i] = ~value[i];
	before = malloc(len);
	if (!before)
		return -ENOMEM;
	memcpy(before, now, len);
	ret = kexec_purgatory_get_set_symbol(image, name, value, size, 0);
	for (first = 0; first < len && before[first] == now[first]; first++)
		;
	for (last = len; last > first && before[last - 1] == now[last - 1]; last--)
		;
	free(before);
	if (ret)
		return ret;
	kj.result->offset[which] = first;
	kj.result->size[which] = last - first;
	return 0;
}

/* The reading of an accepted file: entry, sizes, alignment, symbols. */
static int kjudge_read(struct kimage *image)
{
	const struct purgatory_info *pi = &image->purgatory_info;
	struct kexec_entry64_regs regs;
	const Elf_Sym *stack_end;
	void *stack;
	int ret;

	kj.result->entry = image->start - pi->load_addr;
	kj.result->file_size = kj_kbuf.bufsz;
	kj.result->mem_size = pi->phdr->p_memsz;
	kj.result->align = kj_kbuf.buf_align;
	ret = kjudge_locate(image, "purgatory_sha_regions",
			    KEXEC_SEGMENT_MAX * sizeof(struct kexec_sha_region),
			    KJUDGE_SHA_REGIONS);
	if (!ret)
		ret = kjudge_locate(image, "purgatory_sha256_digest",
				    SHA256_DIGEST_SIZE, KJUDGE_DIGEST);
	if (!ret)
		ret = kjudge_locate(image, "entry64_regs", sizeof(regs),
				    KJUDGE_ENTRY64_REGS);
	if (ret)
		return ret;
	stack = kexec_purgatory_get_symbol_addr(image, "stack_end");
	stack_end = kexec_purgatory_find_symbol(&image->purgatory_info,
						"stack_end");
	if (IS_ERR(stack) || !stack_end)
		return -EINVAL;
	kj.result->offset[KJUDGE_STACK_END] =
		(unsigned long)stack - pi->load_addr;
	kj.result->size[KJUDGE_STACK_END] = stack_end->st_size;
	return 0;
}

static void kjudge_cleanup(struct kimage *image)
{
	struct purgatory_info *pi = &image->purgatory_info;

	vfree(pi->purgatory_buf);
	vfree(pi->sechdrs);
	vfree(pi->file_buf);
	memset(image, 0, sizeof(*image));
}

static struct sigaction kjudge_previous[2];

/* A fault inside a judgment ends it; any other goes where it went before. */
static void kjudge_fault(int signal, siginfo_t *info, void *context)
{
	struct sigaction *previous = &kjudge_previous[signal == SIGBUS];
	const u8 *at = info->si_addr;

	if (kj.fault) {
		snprintf(kj.result->message, sizeof(kj.result->message),
			 "signal %d at %p: file offset %td of %zu bytes", signal,
			 info->si_addr, kj.file_copy ? at - kj.file_copy : -1,
			 kj.size);
		siglongjmp(*kj.fault, 1);
	}
	if (previous->sa_flags & SA_SIGINFO) {
		previous->sa_sigaction(signal, info, context);
	} else if (previous->sa_handler != SIG_DFL &&
		   previous->sa_handler != SIG_IGN) {
		previous->sa_handler(signal);
	} else {
		sigaction(signal, previous, NULL);
	}
}

static pthread_once_t kjudge_once = PTHREAD_ONCE_INIT;

static void kjudge_init(void)
{
	struct sigaction action = { 0 };

	action.sa_sigaction = kjudge_fault;
	action.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&action.sa_mask);
	sigaction(SIGSEGV, &action, &kjudge_previous[0]);
	sigaction(SIGBUS, &action, &kjudge_previous[1]);
	snprintf(purgatory_file, sizeof(purgatory_file), "%s",
		 "judged-purgatory.elf");
}

static int kjudge_run(void)
{
	struct kimage *image = &kj_image;
	int ret;

	kj_kbuf = (struct kexec_buf){ .image = image,
				      .buf_max = ULONG_MAX,
				      .top_down = true };
	ret = kexec_load_purgatory(image, &kj_kbuf);
	if (ret) {
		if (!kj.result->message[0])
			kjudge_note("kexec_load_purgatory", ret);
		return ret;
	}
	ret = kjudge_callers(image);
	if (ret) {
		if (!kj.result->message[0])
			kjudge_note("a symbol access", ret);
		return ret;
	}
	ret = kjudge_read(image);
	if (ret) {
		snprintf(kj.result->message, sizeof(kj.result->message),
			 "harness: the accesses that succeeded failed again (%d)",
			 ret);
		kj.result->status = KJUDGE_FAULTED;
	}
	return 0;
}

int kjudge_available(void)
{
	return 1;
}

int kjudge_judge(const u8 *file, size_t size, struct kjudge_result *result)
{
	sigjmp_buf fault;
	int ret;

	pthread_once(&kjudge_once, kjudge_init);
	memset(result, 0, sizeof(*result));
	kj.file = file;
	kj.size = size;
	kj.file_copy = NULL;
	kj.result = result;
	if (sigsetjmp(fault, 1)) {
		kj.fault = NULL;
		result->status = KJUDGE_FAULTED;
	} else {
		kj.fault = &fault;
		ret = kjudge_run();
		kj.fault = NULL;
		if (ret && result->status != KJUDGE_FAULTED) {
			result->status = KJUDGE_REFUSED;
			result->error = ret;
		}
	}
	kjudge_cleanup(&kj_image);
	kj.result = NULL;
	return result->status;
}

/* The guard's own test: a read one byte past a guarded buffer is caught. */
int kjudge_guard_selftest(void)
{
	struct kjudge_result result = { 0 };
	volatile const u8 *buffer;
	volatile int caught = 0;
	sigjmp_buf fault;

	pthread_once(&kjudge_once, kjudge_init);
	buffer = kjudge_map(1);
	if (!buffer)
		return 0;
	kj.result = &result;
	if (sigsetjmp(fault, 1)) {
		caught = 1;
	} else {
		kj.fault = &fault;
		(void)buffer[1];
	}
	kj.fault = NULL;
	kj.result = NULL;
	vfree((const void *)buffer);
	return caught;
}
