/* SHA-256 block compression with the SHA extensions (sha256rnds2, sha256msg1,
 * sha256msg2), SysV ABI:
 *   purgatory_sha256_shani_blocks(state: *mut [u32; 8] (rdi),
 *                                 blocks: *const [u8; 64] (rsi), count: usize (rdx))
 * Legacy-SSE encodings only: it needs CR4.OSFXSR set and CR0.EM/TS clear, but
 * no XSAVE state. It lives in .text.simd, the only place SIMD may appear, and
 * uses only caller-saved registers (rax, xmm0-xmm10).
 *
 * sha256rnds2 works on the state split as ABEF and CDGH (A in the top dword),
 * and runs two rounds with xmm0 holding the next two (W + K) words; each call
 * leaves the new ABEF in its destination, and the old ABEF becomes CDGH. */

    .section .text.simd, "ax", @progbits
    .globl purgatory_sha256_shani_blocks
    .type purgatory_sha256_shani_blocks, @function
    .p2align 4
purgatory_sha256_shani_blocks:
    test rdx, rdx
    jz 9f

    /* a b c d | e f g h  ->  xmm1 = ABEF, xmm2 = CDGH */
    movdqu xmm1, [rdi]
    movdqu xmm2, [rdi + 16]
    pshufd xmm1, xmm1, 0xb1         /* b a d c */
    pshufd xmm2, xmm2, 0x1b         /* h g f e */
    movdqa xmm7, xmm1
    palignr xmm1, xmm2, 8           /* f e b a = ABEF */
    pblendw xmm2, xmm7, 0xf0        /* h g d c = CDGH */
    movdqa xmm8, [rip + .Lsha256_bswap]

1:  /* one 64-byte block */
    movdqa xmm9, xmm1
    movdqa xmm10, xmm2
    movdqu xmm3, [rsi]
    movdqu xmm4, [rsi + 16]
    movdqu xmm5, [rsi + 32]
    movdqu xmm6, [rsi + 48]
    pshufb xmm3, xmm8               /* message words are big-endian */
    pshufb xmm4, xmm8
    pshufb xmm5, xmm8
    pshufb xmm6, xmm8

    /* Four rounds on the message words in \w, with constants K[\k .. \k+4]. */
    .macro purgatory_sha256_rounds4 w, k
        movdqa xmm0, \w
        paddd xmm0, [rip + .Lsha256_k + 4 * (\k)]
        sha256rnds2 xmm2, xmm1
        pshufd xmm0, xmm0, 0x0e
        sha256rnds2 xmm1, xmm2
    .endm

    /* The next four schedule words W[t..t+4] into \w0, which holds
     * W[t-16..t-12]; \w1, \w2, \w3 hold the three groups after it. */
    .macro purgatory_sha256_schedule4 w0, w1, w2, w3
        sha256msg1 \w0, \w1
        movdqa xmm7, \w3
        palignr xmm7, \w2, 4           /* W[t-7..t-3] */
        paddd \w0, xmm7
        sha256msg2 \w0, \w3
    .endm

    purgatory_sha256_rounds4 xmm3, 0
    purgatory_sha256_rounds4 xmm4, 4
    purgatory_sha256_rounds4 xmm5, 8
    purgatory_sha256_rounds4 xmm6, 12
    .irp t, 16, 32, 48
        purgatory_sha256_schedule4 xmm3, xmm4, xmm5, xmm6
        purgatory_sha256_rounds4 xmm3, \t
        purgatory_sha256_schedule4 xmm4, xmm5, xmm6, xmm3
        purgatory_sha256_rounds4 xmm4, \t + 4
        purgatory_sha256_schedule4 xmm5, xmm6, xmm3, xmm4
        purgatory_sha256_rounds4 xmm5, \t + 8
        purgatory_sha256_schedule4 xmm6, xmm3, xmm4, xmm5
        purgatory_sha256_rounds4 xmm6, \t + 12
    .endr
    .purgem purgatory_sha256_rounds4
    .purgem purgatory_sha256_schedule4

    paddd xmm1, xmm9
    paddd xmm2, xmm10
    add rsi, 64
    dec rdx
    jnz 1b

    /* ABEF, CDGH  ->  a b c d | e f g h */
    pshufd xmm1, xmm1, 0x1b         /* a b e f */
    pshufd xmm2, xmm2, 0xb1         /* g h c d */
    movdqa xmm7, xmm1
    pblendw xmm1, xmm2, 0xf0        /* a b c d */
    palignr xmm2, xmm7, 8           /* e f g h */
    movdqu [rdi], xmm1
    movdqu [rdi + 16], xmm2
9:  ret
    .size purgatory_sha256_shani_blocks, . - purgatory_sha256_shani_blocks

/* Read with 16-byte aligned SSE memory operands. */
    .section .rodata.simd, "a", @progbits
    .p2align 4
.Lsha256_bswap:
    .byte 3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12
.Lsha256_k:
    .long 0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5
    .long 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174
    .long 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da
    .long 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967
    .long 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85
    .long 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070
    .long 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3
    .long 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
