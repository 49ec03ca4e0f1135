//! The purgatory's console: which 16550 port it writes to, if any.
//!
//! The purgatory drives only a port-I/O 16550 and programs it itself at
//! 115200 8N1, so the choice is a port number. By default it follows the
//! running kernel: if its preferred console (the last `ttyS*` entry of
//! `/sys/class/tty/console/active`) is a port-I/O UART, the purgatory uses
//! the same port, so its lines land where the user is already looking.

use crate::number::parse_u64;
use purgatory_abi::MAX_CONSOLE_PORT;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::Path;

/// The I/O ports Linux's 8250 driver gives ttyS0..ttyS3 on a PC.
pub const STANDARD_PORTS: [u16; 4] = [0x3f8, 0x2f8, 0x3e8, 0x2e8];
/// What the purgatory programs; a console at another rate shows garbage.
pub const PURGATORY_BAUD: u32 = 115_200;
/// Linux's `UPIO_PORT` in `/sys/class/tty/ttyS*/io_type`.
const UPIO_PORT: u32 = 0;

/// The purgatory's console, and how it was chosen (for the plan).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Console {
    /// The UART's base port; `None`: no console.
    pub port: Option<u16>,
    /// Why, in words: `ttyS0, the running kernel's console` or `--no-console`.
    pub why: String,
}

impl Console {
    pub fn off(why: impl Into<String>) -> Self {
        Self {
            port: None,
            why: why.into(),
        }
    }
}

impl fmt::Display for Console {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.port {
            Some(port) => write!(f, "16550 at {port:#x}, {PURGATORY_BAUD} 8N1 ({})", self.why),
            None => write!(f, "off ({})", self.why),
        }
    }
}

/// `--console`: `ttyS0`..`ttyS3` or an I/O port (`0x3f8`).
pub fn parse_console(text: &str) -> Result<u16, String> {
    if let Some(index) = text.strip_prefix("ttyS") {
        let index: usize = index
            .parse()
            .map_err(|_| format!("{text:?}: expected ttyS0..ttyS3 or an I/O port such as 0x3f8"))?;
        return STANDARD_PORTS.get(index).copied().ok_or_else(|| {
            format!(
                "{text}: only ttyS0..ttyS3 have standard I/O ports (0x3f8, 0x2f8, 0x3e8, 0x2e8); \
                 give this UART's port instead (cat /sys/class/tty/{text}/port)"
            )
        });
    }
    if text.starts_with("tty") || text.contains("mmio") {
        return Err(format!(
            "{text:?}: the purgatory drives only a port-I/O 16550 (ttyS0..ttyS3 or a port such as 0x3f8), \
             not an MMIO or other console"
        ));
    }
    let port = parse_u64(text)
        .map_err(|_| format!("{text:?}: expected ttyS0..ttyS3 or an I/O port such as 0x3f8"))?;
    match u16::try_from(port) {
        Ok(0) => Err("port 0 is no console: use --no-console".into()),
        Ok(port) if port <= MAX_CONSOLE_PORT => Ok(port),
        _ => Err(format!(
            "{port:#x}: a 16550's eight registers must fit below 0x10000, so the highest base is {MAX_CONSOLE_PORT:#x}"
        )),
    }
}

/// `--console` by name, for the plan.
pub fn given(port: u16) -> Console {
    let name = STANDARD_PORTS
        .iter()
        .position(|&p| p == port)
        .map_or_else(String::new, |i| format!("ttyS{i}, "));
    Console {
        port: Some(port),
        why: format!("{name}--console"),
    }
}

/// The running kernel's preferred console, if the purgatory can use it:
/// reads `/sys/class/tty/console/active` and the UART's `io_type`/`port`.
pub fn detect(sys: &Path) -> Console {
    let active = std::fs::read_to_string(sys.join("class/tty/console/active")).unwrap_or_default();
    let Some(tty) = preferred_serial(&active) else {
        return Console::off(if active.trim().is_empty() {
            "no console in /sys/class/tty/console/active".to_owned()
        } else {
            format!(
                "the running kernel's console is {}, not ttyS*",
                active.trim()
            )
        });
    };
    let read = |name: &str| std::fs::read_to_string(sys.join("class/tty").join(tty).join(name));
    let io_type = read("io_type")
        .ok()
        .and_then(|t| t.trim().parse::<u32>().ok());
    let port = read("port").ok().and_then(|t| parse_u64(t.trim()).ok());
    from_sysfs(tty, io_type, port)
}

/// The last `ttyS*` of `active` (Linux lists the preferred console last).
pub fn preferred_serial(active: &str) -> Option<&str> {
    active
        .split_whitespace()
        .rev()
        .find(|name| name.starts_with("ttyS"))
}

/// The console for `tty` from its sysfs attributes (standard port if absent).
fn from_sysfs(tty: &str, io_type: Option<u32>, port: Option<u64>) -> Console {
    if io_type.is_some_and(|t| t != UPIO_PORT) {
        return Console::off(format!(
            "the running kernel's console {tty} is not port I/O (io_type {}); the purgatory drives only port-I/O 16550s",
            io_type.unwrap_or_default()
        ));
    }
    let port = match port {
        Some(port) => u16::try_from(port)
            .ok()
            .filter(|&p| p != 0 && p <= MAX_CONSOLE_PORT),
        None => parse_console(tty).ok(),
    };
    match port {
        Some(port) => Console {
            port: Some(port),
            why: format!("{tty}, the running kernel's console"),
        },
        None => Console::off(format!(
            "the running kernel's console {tty} has no usable I/O port"
        )),
    }
}

/// The baud rate `cmdline` gives `tty` (`console=ttyS0,9600n8`; the last wins).
pub fn cmdline_baud(cmdline: &str, tty: &str) -> Option<u32> {
    cmdline
        .split_whitespace()
        .filter_map(|word| word.strip_prefix("console="))
        .filter_map(|value| value.split_once(','))
        .filter(|(name, _)| *name == tty)
        .filter_map(|(_, options)| {
            let digits: String = options.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .next_back()
}

/// A warning when the running kernel's console runs at another rate than the
/// purgatory's, which the user's terminal would show as garbage.
pub fn baud_warning(console: &Console, cmdline: &str) -> Option<String> {
    let port = console.port?;
    let index = STANDARD_PORTS.iter().position(|&p| p == port)?;
    let tty = format!("ttyS{index}");
    let baud = cmdline_baud(cmdline, &tty)?;
    (baud != PURGATORY_BAUD).then(|| {
        format!(
            "warning: the running kernel's {tty} runs at {baud} baud (/proc/cmdline), the purgatory \
             programs {PURGATORY_BAUD} 8N1: its lines will be garbled on a {baud}-baud terminal"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_ports() {
        assert_eq!(parse_console("ttyS0"), Ok(0x3f8));
        assert_eq!(parse_console("ttyS3"), Ok(0x2e8));
        assert_eq!(parse_console("0x2f8"), Ok(0x2f8));
        assert!(parse_console("ttyS4").unwrap_err().contains("0x3f8"));
        assert!(parse_console("ttyAMA0").unwrap_err().contains("MMIO"));
        assert!(
            parse_console("mmio32:0xfe215040")
                .unwrap_err()
                .contains("MMIO")
        );
        assert!(parse_console("0xfff9").unwrap_err().contains("0xfff8"));
        assert!(parse_console("0x10000").unwrap_err().contains("0xfff8"));
        assert!(parse_console("0").unwrap_err().contains("--no-console"));
        assert_eq!(parse_console("0xfff8"), Ok(0xfff8));
    }

    #[test]
    fn the_preferred_serial_console_is_the_last() {
        assert_eq!(preferred_serial("tty0 ttyS0\n"), Some("ttyS0"));
        assert_eq!(preferred_serial("ttyS1 tty0 ttyS0"), Some("ttyS0"));
        assert_eq!(preferred_serial("tty0\n"), None);
        assert_eq!(preferred_serial(""), None);
    }

    #[test]
    fn sysfs_decides_port_io() {
        assert_eq!(from_sysfs("ttyS0", Some(0), Some(0x3f8)).port, Some(0x3f8));
        assert_eq!(from_sysfs("ttyS1", None, None).port, Some(0x2f8));
        let mmio = from_sysfs("ttyS0", Some(2), Some(0));
        assert_eq!(mmio.port, None);
        assert!(mmio.why.contains("not port I/O"), "{}", mmio.why);
        assert_eq!(from_sysfs("ttyS5", None, None).port, None);
    }

    #[test]
    fn baud_from_the_command_line() {
        let cmdline = "root=/dev/sda console=tty0 console=ttyS0,9600n8";
        assert_eq!(cmdline_baud(cmdline, "ttyS0"), Some(9600));
        assert_eq!(cmdline_baud("console=ttyS0", "ttyS0"), None);
        assert_eq!(cmdline_baud(cmdline, "ttyS1"), None);
        let com1 = given(0x3f8);
        assert!(baud_warning(&com1, cmdline).unwrap().contains("9600"));
        assert_eq!(baud_warning(&com1, "console=ttyS0,115200"), None);
        assert_eq!(baud_warning(&Console::off("x"), cmdline), None);
        assert_eq!(
            com1.to_string(),
            "16550 at 0x3f8, 115200 8N1 (ttyS0, --console)"
        );
    }
}
