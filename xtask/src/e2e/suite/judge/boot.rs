//! The second kernel boots: the first kernel jumped, the purgatory verified
//! what the plan says and jumped to the kernel's 64-bit entry, the second
//! kernel's command line carries the run's marker and its `/init` reports it.

use super::common::{Expect, console_passed, loader_path, passed_exit, path_words};
use crate::e2e::harness::log::require;
use crate::e2e::harness::qemu::Run;
use crate::e2e::suite::table::{BIG_FILE_LEN, Boot};
use crate::e2e::suite::vocabulary::guest::{BIG_OK, stage2_marker};
use crate::e2e::suite::vocabulary::linux::{STARTING_NEW_KERNEL, banners, command_line_has};
use crate::e2e::suite::vocabulary::plan;
use e2e_protocol::protocol::PARAM_MARKER;
use purgatory_abi::KERNEL_ENTRY64_OFFSET;

pub fn judge(run: &Run, boot: Boot, token: &str, expect: &Expect) -> Result<String, String> {
    passed_exit(run)?;
    let serial = &run.serial;
    require(serial, STARTING_NEW_KERNEL, "the first kernel never jumped")?;
    let banners = banners(serial);
    if banners < 2 {
        return Err(format!(
            "{banners} kernel banner(s): the second kernel did not boot"
        ));
    }
    let marker = format!("{PARAM_MARKER}={token}");
    if !command_line_has(serial, &marker) {
        return Err(format!(
            "no second kernel banner with {marker} on its command line"
        ));
    }
    require(
        serial,
        &stage2_marker(token),
        "the second /init did not report the marker",
    )?;
    let plan = plan::read(serial)?;
    let path = loader_path(&plan, expect)?;
    let shown = match boot {
        Boot::NoVerify => {
            if plan.verified().next().is_some() {
                return Err("--no-verify, yet the plan lists verified segments".into());
            }
            return Ok(format!(
                "booted with an empty region table; second /init reported marker={token}; {}",
                path_words(path)
            ));
        }
        Boot::LargeInitrd => {
            require(
                serial,
                BIG_OK,
                "the second /init did not check the large file",
            )?;
            let initrd = plan.segment("initrd")?;
            if initrd.bytes < BIG_FILE_LEN || !initrd.verified {
                return Err(format!(
                    "the initrd segment is {:#x} bytes, verified {}",
                    initrd.bytes, initrd.verified
                ));
            }
            format!(
                "{} MiB initrd at {:#x} verified by the purgatory, every byte checked by the second /init",
                initrd.bytes >> 20,
                initrd.start
            )
        }
        Boot::Verified => format!(
            "second kernel booted after verifying {} segments; its /init reported marker={token}",
            plan.verified().count()
        ),
    };
    let entry = plan.segment("kernel")?.start + KERNEL_ENTRY64_OFFSET;
    let console = console_passed(serial, &plan, entry)?;
    Ok(format!("{shown}; {console}; {}", path_words(path)))
}
