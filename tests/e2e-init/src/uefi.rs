//! What a second kernel inherited through its boot parameters, as its
//! `/init` finds it (`e2e.uefi=1`): an EFI variable read through efivarfs
//! (the runtime services work), the ACPI tables, and each `setup_data` node
//! with its length. It reports; the suite judges against the plan.

use crate::mount::mount;
use e2e_protocol::protocol::{ACPI_LINE, EFI_LINE, EFIVARFS_MODULE, SETUP_DATA_LINE};
use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::Path;

const EFI_DIR: &str = "/sys/firmware/efi";
const EFIVARS: &str = "/sys/firmware/efi/efivars";
const ACPI_TABLES: &str = "/sys/firmware/acpi/tables";
const SETUP_DATA: &str = "/sys/kernel/boot_params/setup_data";
/// `MODULE_INIT_COMPRESSED_FILE`: the kernel decompresses the module itself.
const MODULE_INIT_COMPRESSED_FILE: libc::c_uint = 4;
/// UEFI's global variable GUID, and the variables worth reading first: every
/// firmware has them, and they are text.
const GLOBAL_GUID: &str = "8be4df61-93ca-11d2-aa0d-00e098032b8c";
const PREFERRED: &[&str] = &["PlatformLangCodes", "PlatformLang", "LangCodes", "Lang"];

/// The report's lines.
pub fn report() -> Vec<String> {
    vec![
        format!("{EFI_LINE} {}", efi()),
        format!("{ACPI_LINE} {}", acpi()),
        format!("{SETUP_DATA_LINE} {}", setup_data()),
    ]
}

/// An EFI variable through efivarfs, which goes through GetVariable: only a
/// kernel with working runtime services can.
fn efi() -> String {
    if !Path::new(EFI_DIR).exists() {
        return format!("absent ({EFI_DIR} does not exist)");
    }
    match read_a_variable() {
        Ok(found) => found,
        Err(why) => format!("broken: {why}"),
    }
}

fn read_a_variable() -> Result<String, String> {
    // A kernel with efivarfs built in comes without the module.
    let module = format!("/{EFIVARFS_MODULE}");
    if Path::new(&module).exists() {
        load_module(&module)?;
    }
    mount("efivarfs", EFIVARS, "efivarfs")?;
    let mut names: Vec<String> = std::fs::read_dir(EFIVARS)
        .map_err(|err| format!("cannot list {EFIVARS}: {err}"))?
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .collect();
    names.sort();
    let name = PREFERRED
        .iter()
        .map(|name| format!("{name}-{GLOBAL_GUID}"))
        .find(|name| names.contains(name))
        .or_else(|| names.first().cloned())
        .ok_or_else(|| format!("{EFIVARS} lists no variable"))?;
    let bytes = std::fs::read(format!("{EFIVARS}/{name}"))
        .map_err(|err| format!("cannot read {name}: {err}"))?;
    let (attributes, data) = bytes
        .split_first_chunk::<4>()
        .ok_or_else(|| format!("{name} has {} bytes, no attributes", bytes.len()))?;
    Ok(format!(
        "variable {name}: attributes {:#x}, {} bytes: {:?} ({} variables)",
        u32::from_le_bytes(*attributes),
        data.len(),
        String::from_utf8_lossy(data).trim_end_matches('\0'),
        names.len()
    ))
}

/// Loads a compressed module; one already there (built in, or loaded) is fine.
fn load_module(path: &str) -> Result<(), String> {
    let file = File::open(path).map_err(|err| format!("cannot open {path}: {err}"))?;
    // SAFETY: a valid descriptor, an empty NUL-terminated parameter string.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_finit_module,
            file.as_raw_fd(),
            c"".as_ptr(),
            MODULE_INIT_COMPRESSED_FILE,
        )
    };
    let err = std::io::Error::last_os_error();
    if rc != 0 && err.raw_os_error() != Some(libc::EEXIST) {
        return Err(format!("cannot load {path}: {err}"));
    }
    Ok(())
}

/// The tables the kernel found from the RSDP it was given or found.
fn acpi() -> String {
    match std::fs::read_dir(ACPI_TABLES) {
        Ok(entries) => {
            let mut tables: Vec<String> = entries
                .filter_map(|entry| {
                    let entry = entry.ok()?;
                    entry.file_type().ok()?.is_file().then_some(())?;
                    entry.file_name().into_string().ok()
                })
                .collect();
            tables.sort();
            format!("tables {}", tables.join(" "))
        }
        Err(err) => format!("none: {ACPI_TABLES}: {err}"),
    }
}

/// `type/length` of each node, in the kernel's order.
fn setup_data() -> String {
    let Ok(entries) = std::fs::read_dir(SETUP_DATA) else {
        return format!("none ({SETUP_DATA} does not exist)");
    };
    let mut nodes: Vec<(u32, String)> = entries
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let index = entry.file_name().to_str()?.parse().ok()?;
            Some((index, node(&entry.path())))
        })
        .collect();
    nodes.sort();
    let nodes: Vec<String> = nodes.into_iter().map(|(_, node)| node).collect();
    nodes.join(" ")
}

fn node(dir: &Path) -> String {
    let kind = std::fs::read_to_string(dir.join("type"))
        .map_or_else(|_| "?".into(), |text| text.trim().to_owned());
    let len = std::fs::read(dir.join("data")).map_or_else(|_| "?".into(), |d| d.len().to_string());
    format!("{kind}/{len}")
}
