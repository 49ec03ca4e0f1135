/* The ELF entry. The incoming RSP points into the old kernel's control page and
 * is never used: the image moves to its own stack at once. DF is cleared for
 * the compiled code's string instructions, whatever the kexec left. */
    .section .text.purgatory_start, "ax", @progbits
    .globl purgatory_start
    .type purgatory_start, @function
purgatory_start:
    cld
    lea rsp, [rip + stack_end]
    call {main}
    ud2                             /* {main} never returns */
    .size purgatory_start, . - purgatory_start

/* In .bss: it needs no bytes in the file, and the loader zero-fills the tail
 * of the segment. `stack_end` is only ever used as an address. */
    .section .bss.purgatory_stack, "aw", @nobits
    .balign {stack_align}
    .skip {stack_size}
    .globl stack_end
    .type stack_end, @object
stack_end:
    .size stack_end, 0
