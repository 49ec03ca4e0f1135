//! The hand-off data in the built image, against the 64-bit boot protocol's
//! values (literal, as Linux's `entry64.S` has them).

use purgatory_host::Image;
use purgatory_tests::built_purgatory;

#[test]
fn the_image_holds_the_boot_protocol_gdt() {
    // null, null, 0x10: flat 64-bit code, 0x18: flat data. Linux uses
    // 0x00af9a.. and 0x00cf92..; ours have the accessed bit preset (..9b..,
    // ..93..), which spares the CPU a write to the descriptor and is otherwise
    // identical.
    let descriptors: [u64; 4] = [0, 0, 0x00af_9b00_0000_ffff, 0x00cf_9300_0000_ffff];
    let gdt: Vec<u8> = descriptors.iter().flat_map(|d| d.to_le_bytes()).collect();
    let elf = built_purgatory();
    let image = Image::parse(&elf).unwrap();
    let found = image.segment().windows(gdt.len()).position(|w| w == gdt);
    assert!(found.is_some(), "no {descriptors:#x?} GDT in the image");
    assert_eq!(found.unwrap() % 8, 0, "the GDT must be 8-byte aligned");
}
