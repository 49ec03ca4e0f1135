//! The serial console: a 16550 UART at the I/O port the loader gave,
//! programmed from scratch (whatever the old kernel left) and polled, with its
//! interrupts off.

use purgatory::text::Sink;
use purgatory_abi::{CONSOLE_OFF, MAX_CONSOLE_PORT};
use x86_64::instructions::port::{PortReadOnly, PortWriteOnly};

// Registers, as offsets from the base port. With LINE_CONTROL_DLAB set, the
// first two hold the baud rate divisor instead.
const DATA: u16 = 0;
const INTERRUPT_ENABLE: u16 = 1;
const DIVISOR_LOW: u16 = 0;
const DIVISOR_HIGH: u16 = 1;
const FIFO_CONTROL: u16 = 2;
const LINE_CONTROL: u16 = 3;
const MODEM_CONTROL: u16 = 4;
const LINE_STATUS: u16 = 5;

const NO_INTERRUPTS: u8 = 0;
const LINE_CONTROL_DLAB: u8 = 1 << 7;
/// 8 data bits, no parity, 1 stop bit, DLAB clear.
const LINE_CONTROL_8N1: u8 = 0b11;
/// FIFOs on, both cleared of whatever the old kernel left.
const FIFO_ENABLE_AND_CLEAR: u8 = 0b111;
/// DTR and RTS asserted, as a terminal on the other end may wait for them.
/// OUT2, which would route the UART's interrupt to the PIC, stays clear.
const MODEM_DTR_RTS: u8 = 0b11;
/// The transmit holding register can take a byte.
const STATUS_THR_EMPTY: u8 = 1 << 5;
/// The holding and shift registers are both empty: every byte has left.
const STATUS_TRANSMITTER_EMPTY: u8 = 1 << 6;
/// 115200 baud from the standard 1.8432 MHz clock: 1843200 / (16 * 115200).
const DIVISOR_115200: u16 = 1;
/// Status reads before the UART is given up on: far more than one byte takes
/// at 115200 baud (87 µs, tens of reads), so only a stuck UART gets there,
/// and then the console falls silent rather than slow the kexec on every byte.
const MAX_STATUS_READS: u32 = 1_000_000;

/// A 16550 UART at an I/O port.
pub struct Serial {
    base: u16,
    stuck: bool,
}

impl Serial {
    /// The UART at `base`, programmed; `None` when the loader asked for no
    /// console or gave a port whose registers would run past 0xffff.
    pub fn open(base: u16) -> Option<Self> {
        let serial = Self::attach(base)?;
        serial.program();
        Some(serial)
    }

    /// The UART at `base` as `open` left it, not programmed again: what an
    /// exception handler prints on, without clearing what the transmit FIFO
    /// still holds.
    pub fn attach(base: u16) -> Option<Self> {
        (base != CONSOLE_OFF && base <= MAX_CONSOLE_PORT).then_some(Self { base, stuck: false })
    }

    fn program(&self) {
        let [divisor_low, divisor_high] = DIVISOR_115200.to_le_bytes();
        self.set(INTERRUPT_ENABLE, NO_INTERRUPTS);
        self.set(LINE_CONTROL, LINE_CONTROL_DLAB);
        self.set(DIVISOR_LOW, divisor_low);
        self.set(DIVISOR_HIGH, divisor_high);
        self.set(LINE_CONTROL, LINE_CONTROL_8N1);
        self.set(FIFO_CONTROL, FIFO_ENABLE_AND_CLEAR);
        self.set(MODEM_CONTROL, MODEM_DTR_RTS);
    }

    fn set(&self, register: u16, value: u8) {
        let mut port = PortWriteOnly::<u8>::new(self.base + register);
        // SAFETY: the loader named `base` as a 16550's; its registers touch no
        // memory, and `open` keeps `base + register` within 0..=0xffff.
        unsafe { port.write(value) }
    }

    /// Whether one of `bits` comes up in the line status. A UART where it
    /// never does is taken as stuck and not polled again.
    fn ready(&mut self, bits: u8) -> bool {
        if self.stuck {
            return false;
        }
        let mut status = PortReadOnly::<u8>::new(self.base + LINE_STATUS);
        for _ in 0..MAX_STATUS_READS {
            // SAFETY: as in `set`; reading the line status only clears its
            // error bits, which nothing here uses.
            if unsafe { status.read() } & bits != 0 {
                return true;
            }
        }
        self.stuck = true;
        false
    }
}

impl Sink for Serial {
    // Called for every piece of every line: inlined, its polling loop would
    // be copied into each.
    #[inline(never)]
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            if !self.ready(STATUS_THR_EMPTY) {
                return;
            }
            self.set(DATA, byte);
        }
    }

    fn drain(&mut self) {
        self.ready(STATUS_TRANSMITTER_EMPTY);
    }
}
