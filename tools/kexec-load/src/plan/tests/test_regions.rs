//! `--test-region`: a region appended to the table after the digest.

use super::*;
use purgatory_abi::{SHA_REGION_COUNT, SHA_REGIONS_SYMBOL, ShaRegion, ShaRegions};

/// The region table as the purgatory segment of `plan` holds it.
fn table_in(plan: &Plan) -> ShaRegions {
    let mut scratch = Purgatory::embedded().unwrap();
    let symbol = scratch.image().symbol(SHA_REGIONS_SYMBOL).unwrap().clone();
    let at = symbol.offset as usize..(symbol.offset + symbol.size) as usize;
    let bytes = plan.purgatory().unwrap().bytes[at].to_vec();
    scratch.write_symbol(SHA_REGIONS_SYMBOL, &bytes).unwrap();
    scratch.region_table().unwrap()
}

#[test]
fn a_test_region_follows_the_segments_and_leaves_the_digest() {
    let mut plan = bz_plan(Some(vec![0x5a; 0x1000]), PurgatoryAddr::High);
    let before = plan.clone();
    let note = plan
        .add_test_region(0x10_0000_0000, 0x1000)
        .unwrap()
        .to_string();
    assert!(
        note.contains("region 3 at 0x1000000000, 0x1000 bytes"),
        "{note}"
    );
    let table = table_in(&plan);
    assert_eq!(table[..3], table_in(&before)[..3]);
    assert_eq!(
        table[3],
        ShaRegion {
            start: 0x10_0000_0000,
            len: 0x1000
        }
    );
    assert_eq!(table[4..], [ShaRegion::default(); SHA_REGION_COUNT - 4]);
    assert_eq!(plan.digest, before.digest);
    assert_eq!(plan.segments[..3], before.segments[..3]);
    let report = plan.report(Vec::new());
    let region = report.test_region.as_ref().unwrap();
    assert_eq!(
        (region.region, region.start, region.len),
        (3, 0x10_0000_0000, 0x1000)
    );
    let line = report.to_line().unwrap();
    assert_eq!(PlanReport::from_line(&line).unwrap(), report);
    let mut text = Vec::new();
    crate::print::print(&plan, &mut text).unwrap();
    assert!(String::from_utf8(text).unwrap().contains(&note));
}

#[test]
fn without_verification_the_test_region_is_the_only_one() {
    let bytes = synthetic_bzimage(0x3000);
    let image = BzImage::parse(&bytes).unwrap();
    let mut request = bz_request(image, None, PurgatoryAddr::High);
    request.verify = false;
    let mut plan = build(request, &map()).unwrap();
    assert_eq!(plan.add_test_region(0x7000, 0x10).unwrap().region, 0);
    assert_eq!(
        table_in(&plan)[0],
        ShaRegion {
            start: 0x7000,
            len: 0x10
        }
    );
}

#[test]
fn bad_test_regions_are_named() {
    let mut plan = bz_plan(None, PurgatoryAddr::High);
    let error =
        |plan: &mut Plan, start, len| plan.add_test_region(start, len).unwrap_err().to_string();
    assert!(error(&mut plan, 0x1000, 0).contains("0 bytes"));
    assert!(error(&mut plan, u64::MAX, 2).contains("passes the end"));
    let used = plan.verified().count();
    for index in used..SHA_REGION_COUNT {
        assert_eq!(plan.add_test_region(0x1000, 0x10).unwrap().region, index);
    }
    assert!(error(&mut plan, 0x1000, 0x10).contains("no free entry"));
    assert!(plan.report(Vec::new()).test_region.is_some());
}
