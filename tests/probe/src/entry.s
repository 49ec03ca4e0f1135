/* The probe's entry. Until every general register and RFLAGS is saved, only
 * `mov` and `lea` run: neither changes a register it does not name, nor a flag.
 * The incoming RSP is recorded, then replaced by the probe's own stack, so a
 * wrong RSP is reported rather than faulted on. */
    .section .text.probe_start, "ax", @progbits
    .globl probe_start
    .type probe_start, @function
probe_start:
    mov [rip + {saved} + {rax}], rax
    mov [rip + {saved} + {rcx}], rcx
    mov [rip + {saved} + {rdx}], rdx
    mov [rip + {saved} + {rbx}], rbx
    mov [rip + {saved} + {rsp}], rsp
    mov [rip + {saved} + {rbp}], rbp
    mov [rip + {saved} + {rsi}], rsi
    mov [rip + {saved} + {rdi}], rdi
    mov [rip + {saved} + {r8}], r8
    mov [rip + {saved} + {r9}], r9
    mov [rip + {saved} + {r10}], r10
    mov [rip + {saved} + {r11}], r11
    mov [rip + {saved} + {r12}], r12
    mov [rip + {saved} + {r13}], r13
    mov [rip + {saved} + {r14}], r14
    mov [rip + {saved} + {r15}], r15
    /* Where the CPU actually entered: compared with entry64_regs.rip. */
    lea rax, [rip + probe_start]
    mov [rip + {saved} + {rip}], rax
    lea rsp, [rip + probe_stack_end]
    pushfq
    pop qword ptr [rip + {saved} + {rflags}]
    mov word ptr [rip + {saved} + {cs}], cs
    mov word ptr [rip + {saved} + {ds}], ds
    mov word ptr [rip + {saved} + {es}], es
    mov word ptr [rip + {saved} + {ss}], ss
    mov word ptr [rip + {saved} + {fs}], fs
    mov word ptr [rip + {saved} + {gs}], gs
    sgdt [rip + {saved} + {gdtr}]
    sidt [rip + {saved} + {idtr}]
    /* Control registers last: `mov` from CRn leaves the flags undefined. */
    mov rax, cr0
    mov [rip + {saved} + {cr0}], rax
    mov rax, cr3
    mov [rip + {saved} + {cr3}], rax
    mov rax, cr4
    mov [rip + {saved} + {cr4}], rax
    /* Then SSE on (EM and TS clear, OSFXSR set), only to read what the
     * purgatory left in the XMM registers: its SHA-NI path leaves the digest
     * there. The values recorded above are the ones checked. */
    mov rax, cr0
    and rax, ~{cr0_em_ts}
    mov cr0, rax
    mov rax, cr4
    or rax, {cr4_osfxsr}
    mov cr4, rax
    movdqu [rip + {saved} + {xmm} + 0x00], xmm0
    movdqu [rip + {saved} + {xmm} + 0x10], xmm1
    movdqu [rip + {saved} + {xmm} + 0x20], xmm2
    movdqu [rip + {saved} + {xmm} + 0x30], xmm3
    movdqu [rip + {saved} + {xmm} + 0x40], xmm4
    movdqu [rip + {saved} + {xmm} + 0x50], xmm5
    movdqu [rip + {saved} + {xmm} + 0x60], xmm6
    movdqu [rip + {saved} + {xmm} + 0x70], xmm7
    movdqu [rip + {saved} + {xmm} + 0x80], xmm8
    movdqu [rip + {saved} + {xmm} + 0x90], xmm9
    movdqu [rip + {saved} + {xmm} + 0xa0], xmm10
    movdqu [rip + {saved} + {xmm} + 0xb0], xmm11
    movdqu [rip + {saved} + {xmm} + 0xc0], xmm12
    movdqu [rip + {saved} + {xmm} + 0xd0], xmm13
    movdqu [rip + {saved} + {xmm} + 0xe0], xmm14
    movdqu [rip + {saved} + {xmm} + 0xf0], xmm15
    call {main}
    ud2                             /* {main} never returns */
    .size probe_start, . - probe_start

    .section .bss.probe_stack, "aw", @nobits
    .balign 16
    .skip {stack_size}
probe_stack_end:
