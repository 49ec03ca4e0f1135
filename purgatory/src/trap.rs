//! What the purgatory does when the CPU raises an exception or an NMI.
//!
//! The kexec leaves a null IDT, so without one of its own any exception would
//! reset the machine without a word. The purgatory's handlers resume after an
//! NMI, wherever it lands (as Linux's early boot ignores early NMIs): an NMI
//! that wakes the halt loop sends it back to `hlt`. Any other exception ends
//! the purgatory: the handler names it on the console and applies the failure
//! policy, as a failed verification does. Once the purgatory is stopping
//! (after a failed verification or an exception), a further exception means
//! stopping itself faulted: a UART or `hlt` the CPU cannot use (port I/O
//! raises #VC in an SEV-ES guest, `hlt` and port I/O #VE in a TDX guest) or a
//! broken handler. Then the policy is applied at once, without printing,
//! without port I/O and without `hlt`, so nothing can fault again.

/// The vectors the purgatory's IDT covers: the 32 that the CPU reserves for
/// exceptions. Interrupts stay off, so no other vector is raised; an `int n`
/// beyond the table raises #GP.
pub const VECTORS: usize = 32;

/// The non-maskable interrupt's vector.
pub const NMI: u8 = 2;

/// The page fault's vector: CR2 holds the address that faulted.
pub const PAGE_FAULT: u8 = 14;

/// Bit `v` is set when the CPU pushes an error code for vector `v`: #DF, #TS,
/// #NP, #SS, #GP, #PF, #AC, #CP, #VC and #SX (SDM vol. 3A, table 6-1; AMD
/// APM vol. 2, table 8-1).
pub const ERROR_CODE_VECTORS: u32 = (1 << 8)
    | (1 << 10)
    | (1 << 11)
    | (1 << 12)
    | (1 << 13)
    | (1 << PAGE_FAULT)
    | (1 << 17)
    | (1 << 21)
    | (1 << 29)
    | (1 << 30);

/// How far the purgatory has got, as far as an exception is concerned.
#[repr(u8)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Phase {
    /// From the entry to the hand-off: verifying, printing, handing off.
    #[default]
    Running,
    /// After a failed verification or an exception: printing the last lines,
    /// then halting or resetting.
    Stopping,
}

/// What a handler does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Return to the interrupted instruction (`iretq`).
    Resume,
    /// Name the exception on the console, then the failure policy.
    Report,
    /// The failure policy at once: no console, no port I/O, no `hlt`.
    Stop,
}

/// What the handler of `vector` does in `phase`.
pub const fn action(vector: u8, phase: Phase) -> Action {
    match (vector, phase) {
        (NMI, _) => Action::Resume,
        (_, Phase::Running) => Action::Report,
        (_, Phase::Stopping) => Action::Stop,
    }
}

/// An exception as the handler saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trap {
    /// The vector, below [`VECTORS`].
    pub vector: u8,
    /// The address of the faulting instruction (or the next one, for traps).
    pub rip: u64,
    /// The error code, for the vectors that push one.
    pub error_code: Option<u64>,
    /// The address that faulted, for a page fault.
    pub cr2: Option<u64>,
}

impl Trap {
    /// The trap from the values a handler stub saved; `read_cr2` is called
    /// only for a page fault.
    pub fn new(vector: u8, error_code: u64, rip: u64, read_cr2: impl FnOnce() -> u64) -> Self {
        Self {
            vector,
            rip,
            error_code: has_error_code(vector).then_some(error_code),
            cr2: (vector == PAGE_FAULT).then(read_cr2),
        }
    }
}

/// Whether the CPU pushes an error code for `vector`.
pub const fn has_error_code(vector: u8) -> bool {
    (vector as usize) < VECTORS && ERROR_CODE_VECTORS >> vector & 1 != 0
}

/// The SDM's mnemonic for an exception vector; `None` for the reserved ones.
/// By value: a table of references would hold addresses, each a relocation.
pub const fn mnemonic(vector: u8) -> Option<[u8; 3]> {
    Some(match vector {
        0 => *b"#DE",
        1 => *b"#DB",
        NMI => *b"NMI",
        3 => *b"#BP",
        4 => *b"#OF",
        5 => *b"#BR",
        6 => *b"#UD",
        7 => *b"#NM",
        8 => *b"#DF",
        10 => *b"#TS",
        11 => *b"#NP",
        12 => *b"#SS",
        13 => *b"#GP",
        PAGE_FAULT => *b"#PF",
        16 => *b"#MF",
        17 => *b"#AC",
        18 => *b"#MC",
        19 => *b"#XM",
        20 => *b"#VE",
        21 => *b"#CP",
        28 => *b"#HV",
        29 => *b"#VC",
        30 => *b"#SX",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_nmi_always_resumes() {
        assert_eq!(action(NMI, Phase::Running), Action::Resume);
        // In the halt loop: back to `hlt`.
        assert_eq!(action(NMI, Phase::Stopping), Action::Resume);
    }

    #[test]
    fn an_exception_is_reported_once_and_then_stops_at_once() {
        for vector in (0..VECTORS as u8).filter(|&vector| vector != NMI) {
            assert_eq!(action(vector, Phase::Running), Action::Report, "{vector}");
            assert_eq!(action(vector, Phase::Stopping), Action::Stop, "{vector}");
        }
    }

    #[test]
    fn error_codes_and_cr2_are_kept_only_where_the_cpu_gives_them() {
        let with_code: Vec<u8> = (0..VECTORS as u8).filter(|&v| has_error_code(v)).collect();
        assert_eq!(with_code, [8, 10, 11, 12, 13, 14, 17, 21, 29, 30]);
        assert!(!has_error_code(200));
        let page_fault = Trap::new(PAGE_FAULT, 2, 0x1000, || 0xdead_0000);
        assert_eq!(page_fault.error_code, Some(2));
        assert_eq!(page_fault.cr2, Some(0xdead_0000));
        let invalid_opcode = Trap::new(6, 0x5a5a, 0x1000, || unreachable!("no CR2 for #UD"));
        assert_eq!(
            (invalid_opcode.error_code, invalid_opcode.cr2),
            (None, None)
        );
    }

    #[test]
    fn reserved_vectors_have_no_mnemonic() {
        let unnamed: Vec<u8> = (0..VECTORS as u8)
            .filter(|&v| mnemonic(v).is_none())
            .collect();
        assert_eq!(unnamed, [9, 15, 22, 23, 24, 25, 26, 27, 31]);
        assert_eq!(mnemonic(29), Some(*b"#VC"));
    }
}
