/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * The part of struct kimage (<linux/kexec.h>) that the purgatory code uses.
 * Included after the tree's own struct purgatory_info and struct kexec_buf.
 */
#ifndef KJUDGE_KIMAGE_H
#define KJUDGE_KIMAGE_H

struct kimage {
	unsigned long start;
	struct purgatory_info purgatory_info;
};

#endif /* KJUDGE_KIMAGE_H */
