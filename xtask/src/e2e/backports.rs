//! A private apt state for Debian's bookworm-backports suite, where QEMU 10
//! comes from, under `target/e2e/apt-backports/`: its own sources list (that
//! suite alone, from the archive the system's bookworm entry names), package
//! lists and cache. The system's other sources (`sources.list.d`) still apply,
//! so libraries resolve as usual. `/etc/apt` and the system's lists are read,
//! never written.

use super::deps::Apt;
use crate::cmd;
use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::Command;

/// The suite QEMU 10 comes from.
pub const SUITE: &str = "bookworm-backports";
/// The release whose archive holds it.
const BASE: &str = "bookworm";
const COMPONENT: &str = "main";
/// Debian's archive keys, which sign the backports suite too.
const KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";
const SYSTEM_LISTS: &str = "/var/lib/apt/lists";

/// The private state, its lists fetched once.
pub fn apt(root: &Path) -> Result<Apt> {
    let dir = root.join("apt-backports");
    let (lists, cache) = (dir.join("lists"), dir.join("cache"));
    std::fs::create_dir_all(lists.join("partial"))?;
    std::fs::create_dir_all(cache.join("archives/partial"))?;
    let signed_by = if Path::new(KEYRING).is_file() {
        format!("[signed-by={KEYRING}] ")
    } else {
        String::new()
    };
    let sources = dir.join("sources.list");
    let line = format!("deb {signed_by}{} {SUITE} {COMPONENT}\n", archive()?);
    if std::fs::read_to_string(&sources).ok().as_deref() != Some(line.as_str()) {
        std::fs::write(&sources, &line)?;
        // Lists fetched for another archive must not stand in for this one.
        remove_suite_lists(&lists)?;
    }
    let apt = Apt::with_options(vec![
        format!("Dir::Etc::SourceList={}", sources.display()),
        format!("Dir::State::Lists={}", lists.display()),
        format!("Dir::Cache={}", cache.display()),
    ]);
    if !has_suite_lists(&lists)? {
        seed_lists(&lists);
        eprintln!(
            "e2e: fetching the {SUITE} package lists into {}",
            dir.display()
        );
        apt.update()
            .with_context(|| format!("apt-get update with {} failed", sources.display()))?;
        if !has_suite_lists(&lists)? {
            bail!(
                "apt-get update fetched no {SUITE} lists for {}",
                line.trim()
            );
        }
    }
    Ok(apt)
}

/// The archive URI of the system's `bookworm` suite, e.g. Debian's mirror
/// (taken from the system rather than written here).
fn archive() -> Result<String> {
    let query = || -> Result<Option<String>> {
        let out = cmd::output(Command::new("apt-get").args([
            "indextargets",
            "--format",
            "$(REPO_URI) $(RELEASE)",
            "Identifier: Packages",
        ]))?;
        Ok(out.lines().find_map(|line| {
            let (uri, release) = line.split_once(' ')?;
            (release == BASE).then(|| uri.trim_end_matches('/').to_owned())
        }))
    };
    if let Some(uri) = query()? {
        return Ok(uri);
    }
    // indextargets lists only suites whose lists were fetched.
    if crate::apt::is_root() {
        Apt::system().update()?;
        if let Some(uri) = query()? {
            return Ok(uri);
        }
    }
    bail!(
        "the system's apt sources have no {BASE} suite (after `apt-get update`), so the archive \
         that holds {SUITE} is unknown"
    )
}

fn suite_lists(lists: &Path) -> Result<Vec<std::path::PathBuf>> {
    let marker = format!("_dists_{SUITE}_");
    Ok(std::fs::read_dir(lists)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            path.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.contains(&marker))
        })
        .collect())
}

fn has_suite_lists(lists: &Path) -> Result<bool> {
    Ok(suite_lists(lists)?.iter().any(|path| {
        path.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.contains("_Packages"))
    }))
}

fn remove_suite_lists(lists: &Path) -> Result<()> {
    for path in suite_lists(lists)? {
        std::fs::remove_file(path)?;
    }
    Ok(())
}

/// Copies the system's lists, so that the update fetches only what changed
/// and the backports suite, not every index again. Best effort.
fn seed_lists(lists: &Path) {
    let Ok(entries) = std::fs::read_dir(SYSTEM_LISTS) else {
        return;
    };
    for path in entries.filter_map(|entry| entry.ok().map(|e| e.path())) {
        let Some(name) = path.file_name() else {
            continue;
        };
        let target = lists.join(name);
        if path.is_file() && name != "lock" && !target.exists() {
            let _ = std::fs::copy(&path, &target);
        }
    }
}
