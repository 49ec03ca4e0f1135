//! A KHO run (`e2e.kho` on the command line): like upstream's selftest
//! `/init`, mount debugfs, and say what KHO shows there. Stage 1 prints the
//! scratch areas and the subtrees the first kernel will hand over, and fails
//! unless `test_kho`'s is among them: a KHO kexec without state proves
//! nothing. Stage 2 prints the subtrees that were handed over.

use crate::guest::say;
use crate::mount;
use e2e_protocol::kho::{IN, OUT, SCRATCH, SUBTREES, TEST_SUBTREE};

const DEBUGFS: &str = "/sys/kernel/debug";
/// KHO's directory in debugfs: `out/` what this kernel hands over, `in/`
/// what it was handed.
const KHO: &str = "/sys/kernel/debug/kho";

/// Before the kexec: the scratch areas and the outgoing subtrees.
pub fn outgoing() -> Result<(), String> {
    mount("debugfs", DEBUGFS, "debugfs")?;
    let starts = read(&format!("{KHO}/out/scratch_phys"))?;
    let lens = read(&format!("{KHO}/out/scratch_len"))?;
    let scratch = scratch_areas(&starts, &lens)?;
    let subtrees = names(&format!("{KHO}/out/sub_fdts"))?;
    say(&format!(
        "{OUT} {SCRATCH}{} {SUBTREES}{}",
        scratch.join(","),
        subtrees.join(",")
    ));
    if !subtrees.iter().any(|name| name == TEST_SUBTREE) {
        return Err(format!(
            "KHO hands over no {TEST_SUBTREE} subtree: is TEST_KEXEC_HANDOVER built in and kho=on given?"
        ));
    }
    Ok(())
}

/// After the kexec: the subtrees this kernel was handed.
pub fn incoming() -> Result<(), String> {
    mount("debugfs", DEBUGFS, "debugfs")?;
    let subtrees = names(&format!("{KHO}/in/sub_fdts"))?;
    say(&format!("{IN} {SUBTREES}{}", subtrees.join(",")));
    Ok(())
}

fn read(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|err| format!("cannot read {path}: {err}"))
}

/// `0x<start>+0x<len>` for each pair of lines of `starts` and `lens`.
fn scratch_areas(starts: &str, lens: &str) -> Result<Vec<String>, String> {
    let (starts, lens): (Vec<&str>, Vec<&str>) = (starts.lines().collect(), lens.lines().collect());
    if starts.len() != lens.len() || starts.is_empty() {
        return Err(format!(
            "KHO lists {} scratch starts and {} lengths",
            starts.len(),
            lens.len()
        ));
    }
    Ok(starts
        .iter()
        .zip(&lens)
        .map(|(start, len)| format!("{}+{}", start.trim(), len.trim()))
        .collect())
}

/// The entries of `dir`, sorted.
fn names(dir: &str) -> Result<Vec<String>, String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|err| format!("cannot list {dir}: {err}"))?
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .collect();
    names.sort();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::scratch_areas;

    #[test]
    fn scratch_areas_pair_starts_with_lengths() {
        assert_eq!(
            scratch_areas("0x1000000\n0x40000000\n", "0x2000000\n0x8000000\n"),
            Ok(vec![
                "0x1000000+0x2000000".to_owned(),
                "0x40000000+0x8000000".to_owned()
            ])
        );
        assert!(scratch_areas("0x1\n", "").is_err());
        assert!(scratch_areas("", "").is_err());
    }
}
