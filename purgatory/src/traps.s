/* The exception handlers' entry points, one per vector, {stub_size} bytes apart
 * so that the IDT is built from the first one's address alone. Each leaves
 * the same frame (`traps::Frame`): where the CPU pushed no error code, a zero
 * stands in; then the vector. */
    .section .text.purgatory_traps, "ax", @progbits
purgatory_trap_stubs:
    .set vector, 0
    .rept {vectors}
    .org purgatory_trap_stubs + vector * {stub_size}, 0xcc
    .if (({error_code_vectors} >> vector) & 1) == 0
    push 0
    .endif
    push vector
    jmp purgatory_trap_common
    .set vector, vector + 1
    .endr
    .org purgatory_trap_stubs + {vectors} * {stub_size}, 0xcc

/* Saves the registers the SysV ABI lets `dispatch` clobber, so that an NMI can
 * return to any instruction; the CPU restores RFLAGS. The frame is 16-byte
 * aligned here (the CPU aligns RSP before it pushes, and the frame is a
 * multiple of 16 bytes), so `dispatch` is entered as the ABI wants. */
purgatory_trap_common:
    push rax
    push rcx
    push rdx
    push rsi
    push rdi
    push r8
    push r9
    push r10
    push r11
    cld
    mov rdi, rsp
    call {dispatch}
    pop r11
    pop r10
    pop r9
    pop r8
    pop rdi
    pop rsi
    pop rdx
    pop rcx
    pop rax
    add rsp, {vector_and_error_code}
    iretq
