//! How apt runs: with the system's state, or with a private one for one Debian
//! suite (bookworm-backports' QEMU 10, trixie-backports' Linux 7.3, …) under
//! `target/apt/<suite>/`: its own sources list naming that suite alone, from
//! the archive the system's bookworm entry names, its own package lists and
//! cache. The system's other sources (`sources.list.d`) still apply, so
//! libraries resolve as usual. `/etc/apt` and the system's lists are read,
//! never written.

use crate::cmd;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Root's effective uid, read from /proc (xtask has no libc dependency).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .find_map(|line| line.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().nth(1))
            == Some("0")
    })
}

/// The release whose archive URI the system's sources give.
const BASE: &str = "bookworm";
const COMPONENT: &str = "main";
/// Debian's archive keys: bookworm's package carries trixie's too, which sign
/// the newer suites.
const KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";
const SYSTEM_LISTS: &str = "/var/lib/apt/lists";

/// An apt state: the system's, or a private one for one suite.
#[derive(Debug, Clone, Default)]
pub struct Apt {
    /// `-o` options, each `Name=value`.
    options: Vec<String>,
    /// The suite of a private state.
    suite: Option<String>,
}

impl Apt {
    pub fn system() -> Self {
        Self::default()
    }

    /// The private state for `suite` under `root/apt/<suite>/`, its lists
    /// fetched once. apt's usual priorities apply: a backports suite's
    /// packages are taken only when asked for ([`Apt::preferring_suite`]).
    pub fn suite(root: &Path, suite: &str) -> Result<Self> {
        let dir = root.join("apt").join(suite);
        let (lists, cache) = (dir.join("lists"), dir.join("cache"));
        std::fs::create_dir_all(lists.join("partial"))?;
        std::fs::create_dir_all(cache.join("archives/partial"))?;
        let signed_by = if Path::new(KEYRING).is_file() {
            format!("[signed-by={KEYRING}] ")
        } else {
            String::new()
        };
        let sources = dir.join("sources.list");
        let line = format!("deb {signed_by}{} {suite} {COMPONENT}\n", archive()?);
        if std::fs::read_to_string(&sources).ok().as_deref() != Some(line.as_str()) {
            std::fs::write(&sources, &line)?;
            // Lists fetched for another archive must not stand in for this one.
            for path in suite_lists(&lists, suite)? {
                std::fs::remove_file(path)?;
            }
        }
        let apt = Self {
            options: vec![
                format!("Dir::Etc::SourceList={}", sources.display()),
                format!("Dir::State::Lists={}", lists.display()),
                format!("Dir::Cache={}", cache.display()),
            ],
            suite: Some(suite.to_owned()),
        };
        if !has_package_lists(&lists, suite)? {
            seed_lists(&lists);
            eprintln!(
                "apt: fetching the {suite} package lists into {}",
                dir.display()
            );
            apt.update()
                .with_context(|| format!("apt-get update with {} failed", sources.display()))?;
            if !has_package_lists(&lists, suite)? {
                bail!(
                    "apt-get update fetched no {suite} lists for {}",
                    line.trim()
                );
            }
        }
        Ok(apt)
    }

    /// The same state with its suite's versions preferred over the others.
    pub fn preferring_suite(&self) -> Self {
        let mut preferring = self.clone();
        if let Some(suite) = &self.suite {
            preferring
                .options
                .push(format!("APT::Default-Release={suite}"));
        }
        preferring
    }

    fn is_private(&self) -> bool {
        self.suite.is_some()
    }

    /// `apt-get` or `apt-cache` with this state's options.
    pub fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        for option in &self.options {
            command.args(["-o", option]);
        }
        command
    }

    /// `apt-get update`: needs root for the system's lists; a private state's
    /// lists are ours.
    pub fn update(&self) -> Result<()> {
        if !self.is_private() && !is_root() {
            bail!("the package lists need an update: run `apt-get update` as root");
        }
        let mut update = self.command("apt-get");
        if is_root() {
            // apt's `_apt` user cannot write into a root-owned target/.
            update.args(["-o", "APT::Sandbox::User=root"]);
        }
        cmd::run(update.args(["update", "-qq"]))
    }

    /// Runs `query`, and once more after `apt-get update` when it fails and
    /// the lists may be updated here.
    fn retrying<T>(&self, what: &str, query: impl Fn() -> Result<T>) -> Result<T> {
        match query() {
            Ok(value) => Ok(value),
            Err(err) if is_root() || self.is_private() => {
                eprintln!("apt: {what} failed ({err:#}); running apt-get update and retrying");
                self.update()?;
                query()
            }
            Err(err) => Err(err.context(format!(
                "{what} failed; `apt-get update` as root may help (the suite does it itself when run as root)"
            ))),
        }
    }

    /// The `Depends:` of `package`, first of each group of alternatives,
    /// virtual packages skipped.
    pub fn depends(&self, package: &str) -> Result<Vec<String>> {
        let out = self.retrying(&format!("resolving {package}"), || {
            let out = cmd::output(self.command("apt-cache").args([
                "depends",
                "--no-recommends",
                "--no-suggests",
                "--no-conflicts",
                "--no-breaks",
                "--no-replaces",
                "--no-enhances",
                package,
            ]))?;
            anyhow::ensure!(out.contains("Depends:"), "apt-cache knows no {package}");
            Ok(out)
        })?;
        Ok(depends_of(&out))
    }

    /// The `Version:` apt would fetch for `package`.
    pub fn candidate_version(&self, package: &str) -> Result<String> {
        self.retrying(&format!("looking up {package}"), || {
            let out = cmd::output(self.command("apt-cache").args([
                "show",
                "--no-all-versions",
                package,
            ]))?;
            out.lines()
                .find_map(|line| line.strip_prefix("Version:"))
                .map(|v| v.trim().to_owned())
                .with_context(|| format!("apt-cache shows no version of {package}"))
        })
    }

    /// Downloads `packages` (each `name` or `name=version`) into `dir` and
    /// returns the .deb paths, in order.
    pub fn download(&self, dir: &Path, packages: &[String]) -> Result<Vec<PathBuf>> {
        std::fs::create_dir_all(dir)?;
        self.retrying("apt-get download", || {
            let mut download = self.command("apt-get");
            download.current_dir(dir);
            if is_root() {
                // apt's `_apt` user cannot write into a root-owned target/.
                download.args(["-o", "APT::Sandbox::User=root"]);
            }
            cmd::run(download.arg("download").args(packages))
        })?;
        packages
            .iter()
            .map(|package| {
                let name = package.split_once('=').map_or(package.as_str(), |(n, _)| n);
                let prefix = format!("{name}_");
                std::fs::read_dir(dir)?
                    .filter_map(|entry| entry.ok().map(|e| e.path()))
                    .find(|path| {
                        path.file_name()
                            .and_then(|n| n.to_str())
                            .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".deb"))
                    })
                    .with_context(|| {
                        format!(
                            "apt-get download left no {prefix}*.deb in {}",
                            dir.display()
                        )
                    })
            })
            .collect()
    }

    /// Fails unless `deb` comes from this state's suite: a backports version
    /// carries `~bpo`, so anything else means apt took the release's own.
    pub fn ensure_from_suite(&self, deb: &Path) -> Result<()> {
        let Some(suite) = &self.suite else {
            return Ok(());
        };
        let version = cmd::output(Command::new("dpkg-deb").arg("-f").arg(deb).arg("Version"))?;
        anyhow::ensure!(
            !suite.ends_with("-backports") || version.contains("~bpo"),
            "apt fetched {} version {}, not the one from {suite}",
            deb.display(),
            version.trim()
        );
        Ok(())
    }
}

/// `Depends:` targets, taking the first of each group of alternatives and
/// skipping virtual packages (`<name>`).
fn depends_of(apt_cache_output: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut in_alternatives = false;
    for line in apt_cache_output.lines() {
        let line = line.trim();
        let (alternative, rest) = match line.strip_prefix('|') {
            Some(rest) => (true, rest),
            None => (false, line),
        };
        let Some(name) = rest.strip_prefix("Depends:").map(str::trim) else {
            continue;
        };
        if !in_alternatives && !name.starts_with('<') {
            names.push(name.to_owned());
        }
        in_alternatives = alternative;
    }
    names
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
    if is_root() {
        Apt::system().update()?;
        if let Some(uri) = query()? {
            return Ok(uri);
        }
    }
    bail!(
        "the system's apt sources have no {BASE} suite (after `apt-get update`), so the archive \
         of Debian's other suites is unknown"
    )
}

fn suite_lists(lists: &Path, suite: &str) -> Result<Vec<PathBuf>> {
    let marker = format!("_dists_{suite}_");
    Ok(std::fs::read_dir(lists)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            path.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.contains(&marker))
        })
        .collect())
}

fn has_package_lists(lists: &Path, suite: &str) -> Result<bool> {
    Ok(suite_lists(lists, suite)?.iter().any(|path| {
        path.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.contains("_Packages"))
    }))
}

/// Copies the system's lists, so that the update fetches only what changed
/// and the private suite, not every index again. Best effort.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depends_takes_first_alternatives_and_skips_virtual() {
        let out = "linux-image-6.12-amd64\n  Depends: linux-image-6.12.117+deb12-amd64\n\
                   qemu-system-x86\n  Depends: libaio1\n |Depends: libasound2\n  Depends: libasound2-alt\n  \
                   Depends: <qemu-kvm>\n  Depends: seabios\n";
        assert_eq!(
            depends_of(out),
            [
                "linux-image-6.12.117+deb12-amd64",
                "libaio1",
                "libasound2",
                "seabios"
            ]
        );
    }
}
