/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * Built instead of the kernel judge when no patched kernel tree is named
 * (PURGATORY_KERNEL_SRC unset): it says so, and judges nothing.
 */
#include <stddef.h>

int kjudge_available(void)
{
	return 0;
}

int kjudge_judge(const void *file, size_t size, void *result)
{
	(void)file;
	(void)size;
	(void)result;
	return -1;
}

int kjudge_guard_selftest(void)
{
	return 0;
}
