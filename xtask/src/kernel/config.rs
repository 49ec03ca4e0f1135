//! The kernel configuration: `make tinyconfig`, then the kept fragment
//! (`kernel/e2e.config`) and the variant's lines, then `make olddefconfig`.
//!
//! Kconfig silently drops a line whose dependencies are not met, so every
//! line of the fragment is looked up in the resulting `.config` afterwards.
//! The inputs are remembered in the build directory: an unchanged
//! configuration is not regenerated, which keeps rebuilds incremental.

use crate::cmd;
use anyhow::{Result, bail};
use std::path::Path;
use std::process::Command;

/// The inputs of the current `.config`.
const CONFIG_STAMP: &str = ".xtask-config-inputs";

/// Configures `build` (an `O=` directory of `source`) from `fragment`.
/// `identity` names the source version, so a new source is configured anew.
pub fn configure(source: &Path, build: &Path, identity: &str, fragment: &str) -> Result<()> {
    let inputs = format!("{identity}\n{fragment}");
    let stamp = build.join(CONFIG_STAMP);
    if build.join(".config").is_file() && std::fs::read_to_string(&stamp).is_ok_and(|s| s == inputs)
    {
        return Ok(());
    }
    std::fs::create_dir_all(build)?;
    let _ = std::fs::remove_file(&stamp);
    make(source, build, "tinyconfig")?;
    // A symbol assigned twice takes the later value, so appending the
    // fragment overrides tinyconfig's choices.
    let config = build.join(".config");
    let mut text = std::fs::read_to_string(&config)?;
    text.push_str("\n# cargo xtask kernel\n");
    text.push_str(fragment);
    std::fs::write(&config, text)?;
    make(source, build, "olddefconfig")?;
    let missing = missing_settings(fragment, &std::fs::read_to_string(&config)?);
    if !missing.is_empty() {
        bail!(
            "Kconfig dropped these settings of the fragment (a dependency is missing):\n  {}",
            missing.join("\n  ")
        );
    }
    std::fs::write(&stamp, inputs)?;
    Ok(())
}

fn make(source: &Path, build: &Path, target: &str) -> Result<()> {
    cmd::output(
        Command::new("make")
            .arg("-C")
            .arg(source)
            .arg(format!("O={}", build.display()))
            .arg(target),
    )
    .map(drop)
}

/// The `CONFIG_…=…` lines of `fragment` that `.config` does not hold verbatim.
fn missing_settings(fragment: &str, config: &str) -> Vec<String> {
    fragment
        .lines()
        .map(str::trim)
        .filter(|line| line.starts_with("CONFIG_"))
        .filter(|line| !config.lines().any(|have| have.trim() == *line))
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::missing_settings;

    #[test]
    fn dropped_settings_are_listed() {
        let fragment = "# comment\nCONFIG_A=y\nCONFIG_B=\"x\"\nCONFIG_C=y\n";
        let config = "CONFIG_A=y\nCONFIG_B=\"x\"\n# CONFIG_C is not set\nCONFIG_CC=y\n";
        assert_eq!(missing_settings(fragment, config), ["CONFIG_C=y"]);
    }
}
