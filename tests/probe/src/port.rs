//! Port I/O: the COM1 serial port the verdict is printed on, and QEMU's
//! `isa-debug-exit` device the verdict is returned through.

use core::arch::asm;
use e2e_protocol::protocol::DEBUG_EXIT_PORT;

const COM1: u16 = 0x3f8;
/// Line status register; bit 5: the transmit holding register is empty.
const COM1_LSR: u16 = COM1 + 5;
const LSR_THR_EMPTY: u8 = 1 << 5;

fn outb(port: u16, value: u8) {
    // SAFETY: writes to the UART and the debug-exit port have no effect on
    // memory; the probe owns the machine.
    unsafe {
        asm!("out dx, al", in("dx") port, in("al") value, options(nomem, nostack, preserves_flags))
    }
}

fn inb(port: u16) -> u8 {
    let value: u8;
    // SAFETY: reading the UART's status register has no side effect on memory.
    unsafe {
        asm!("in al, dx", out("al") value, in("dx") port, options(nomem, nostack, preserves_flags))
    }
    value
}

/// Polled output on COM1, which the old kernel left configured (its console
/// was `ttyS0`); the probe does not reprogram it.
pub struct Serial;

impl Serial {
    pub fn byte(&mut self, byte: u8) {
        // Bounded: with no UART present the status reads 0xff (ready) or
        // garbage, and the probe must still reach its exit.
        for _ in 0..100_000 {
            if inb(COM1_LSR) & LSR_THR_EMPTY != 0 {
                break;
            }
        }
        outb(COM1, byte);
    }

    pub fn str(&mut self, text: &str) -> &mut Self {
        for byte in text.bytes() {
            if byte == b'\n' {
                self.byte(b'\r');
            }
            self.byte(byte);
        }
        self
    }

    /// `value` in decimal.
    pub fn dec(&mut self, mut value: u64) -> &mut Self {
        let mut digits = [0u8; 20];
        let mut count = 0;
        loop {
            digits[count] = b'0' + (value % 10) as u8;
            count += 1;
            value /= 10;
            if value == 0 {
                break;
            }
        }
        for &digit in digits[..count].iter().rev() {
            self.byte(digit);
        }
        self
    }

    /// `0x` and sixteen hex digits: every value is printed in full.
    pub fn hex(&mut self, value: u64) -> &mut Self {
        self.str("0x");
        for shift in (0..16).rev() {
            let nibble = ((value >> (shift * 4)) & 0xf) as u8;
            self.byte(if nibble < 10 {
                b'0' + nibble
            } else {
                b'a' + nibble - 10
            });
        }
        self
    }
}

/// Ends the QEMU run with `(code << 1) | 1`; halts if there is no such device.
pub fn exit_qemu(code: u8) -> ! {
    outb(DEBUG_EXIT_PORT, code);
    loop {
        // SAFETY: halting with interrupts off changes no memory.
        unsafe { asm!("cli", "hlt", options(nomem, nostack)) }
    }
}
