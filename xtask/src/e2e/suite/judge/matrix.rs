//! A kernel-matrix run: the boot or probe judge decides as for any
//! `kexec-load` run; here the kernels must also be the ones the run names.
//! The first banner is the first kernel's release, and the first banner after
//! the jump the second kernel's (each release read from its image's header).

use crate::e2e::harness::fetch::Kernel;
use crate::e2e::suite::vocabulary::linux::{STARTING_NEW_KERNEL, banner_releases};

/// Checks the releases the banners name: `first`'s, then, after the jump,
/// `second`'s if the run loads a kernel.
pub fn kernels(serial: &str, first: &Kernel, second: Option<&Kernel>) -> Result<String, String> {
    let (before, after) = serial
        .split_once(STARTING_NEW_KERNEL)
        .unwrap_or((serial, ""));
    let first = banner(before, first, "first")?;
    let Some(second) = second else {
        return Ok(format!("first kernel {first}"));
    };
    let second = banner(after, second, "second")?;
    Ok(format!("{first} -> {second}"))
}

/// The release of the first banner in `serial`, which must be `kernel`'s.
fn banner<'a>(serial: &str, kernel: &'a Kernel, which: &str) -> Result<&'a str, String> {
    let want = kernel
        .release
        .as_deref()
        .ok_or_else(|| format!("{} names no release in its header", kernel.package))?;
    match banner_releases(serial).first() {
        Some(&seen) if seen == want => Ok(want),
        Some(seen) => Err(format!(
            "the {which} kernel's banner names {seen}, not {want} ({})",
            kernel.package
        )),
        None => Err(format!(
            "no {which} kernel banner (expected {want}, {})",
            kernel.package
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kernel(release: &str) -> Kernel {
        Kernel {
            vmlinuz: "/nowhere".into(),
            package: format!("linux-image-{release}"),
            release: Some(release.to_owned()),
            efivarfs: None,
        }
    }

    const JUMP: &str = "[    2.2] kexec_core: Starting new kernel\r\n";

    #[test]
    fn each_banner_must_be_its_kernels() {
        let (new, old) = (kernel("7.3.4+deb13-amd64"), kernel("6.1.0-57-amd64"));
        let serial = format!(
            "[ 0.0] Linux version 7.3.4+deb13-amd64 (x) #1\r\n{JUMP}[ 0.0] Linux version 6.1.0-57-amd64 (x) #1\r\n"
        );
        assert_eq!(
            kernels(&serial, &new, Some(&old)),
            Ok("7.3.4+deb13-amd64 -> 6.1.0-57-amd64".into())
        );
        let why = kernels(&serial, &old, Some(&old)).unwrap_err();
        assert!(why.contains("first kernel's banner names 7.3.4"), "{why}");
        let why = kernels(&serial, &new, Some(&new)).unwrap_err();
        assert!(why.contains("second kernel's banner names 6.1.0"), "{why}");
        let probe =
            format!("[ 0.0] Linux version 7.3.4+deb13-amd64 (x)\r\n{JUMP}PROBE: reached\r\n");
        assert_eq!(
            kernels(&probe, &new, None),
            Ok("first kernel 7.3.4+deb13-amd64".into())
        );
        let why = kernels(&probe, &new, Some(&old)).unwrap_err();
        assert!(why.contains("no second kernel banner"), "{why}");
    }
}
