//! One verdict from the checker, the host library and the patched kernel
//! (today a model of its checks, `purgatory_differential::KernelModel`) on
//! the real image and on thousands of edits of it: `compare` fails on any
//! disagreement. `cargo xtask fuzz --target differential` runs the same
//! comparison on libFuzzer's edits.

use purgatory_differential::{
    Checker, EDIT_LEN, Judge, KernelModel, Library, Verdict, apply_edits, compare,
};
use purgatory_tests::built_purgatory;

fn accepted(verdict: &Verdict) -> bool {
    matches!(verdict, Verdict::Accepted(_))
}

#[test]
fn the_real_image_is_accepted_by_every_judge_and_read_alike() {
    let elf = built_purgatory();
    compare(&elf, &KernelModel).unwrap_or_else(|d| panic!("{d}"));
    let checker = Checker {
        structural_only: false,
    };
    for judge in [&checker as &dyn Judge, &Library, &KernelModel] {
        assert!(accepted(&judge.judge(&elf)), "{} refuses it", judge.name());
    }
}

#[test]
fn the_kernel_model_refuses_what_the_patched_kernel_refuses_in_e2e() {
    // kexec-file-two-phdrs and kexec-file-regs-size: the real kernel refuses both.
    let elf = built_purgatory();
    for bad in [
        elf_edit::two_program_headers(&elf).unwrap(),
        elf_edit::with_symbol_size(&elf, "entry64_regs", 128).unwrap(),
    ] {
        assert!(
            matches!(KernelModel.judge(&bad), Verdict::Refused(_)),
            "{:?}",
            KernelModel.judge(&bad)
        );
        compare(&bad, &KernelModel).unwrap_or_else(|d| panic!("{d}"));
    }
}

#[test]
fn the_kernel_accepts_et_exec_which_the_checker_refuses() {
    // The one difference in e_type: allowed (the checker is the stricter).
    let mut elf = elf_edit::Elf::parse(built_purgatory()).unwrap();
    elf.set_header(elf_edit::field::E_TYPE, 2).unwrap();
    assert!(accepted(&KernelModel.judge(elf.bytes())));
    assert!(matches!(Library.judge(elf.bytes()), Verdict::Refused(_)));
    compare(elf.bytes(), &KernelModel).unwrap_or_else(|d| panic!("{d}"));
}

#[test]
fn thousands_of_edited_images_get_one_verdict() {
    let base = built_purgatory();
    let mut rng = fastrand::Rng::with_seed(0xd1ff);
    let (mut all_accept, mut kernel_refuses, mut checker_only_refuses) = (0, 0, 0);
    for case in 0..1000 {
        let edits = 1 + case % 3;
        let script: Vec<u8> = (0..edits * EDIT_LEN).map(|_| rng.u8(..)).collect();
        let elf = apply_edits(&base, &script);
        if let Err(disagreement) = compare(&elf, &KernelModel) {
            panic!("case {case}, script {script:02x?}: {disagreement}");
        }
        let checker = Checker {
            structural_only: false,
        }
        .judge(&elf);
        match (accepted(&checker), KernelModel.judge(&elf)) {
            (true, _) => all_accept += 1,
            (false, Verdict::Refused(_)) => kernel_refuses += 1,
            (false, _) => checker_only_refuses += 1,
        }
    }
    // Not a vacuous run: each kind of verdict occurs.
    assert!(all_accept > 25, "{all_accept} accepted by every judge");
    assert!(
        kernel_refuses > 100,
        "{kernel_refuses} refused by the kernel"
    );
    assert!(
        checker_only_refuses > 100,
        "{checker_only_refuses} refused by the checker alone"
    );
}
