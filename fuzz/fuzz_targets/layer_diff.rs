//! layer-diff's tar -> changeset reader on any bytes. Properties: nothing panics; a changeset
//! that was read writes back to a tar that reads to the same changeset, and writing it is
//! deterministic (the same changeset, the same bytes).
#![no_main]

use layer_diff::{read_changeset_with, write_changeset, ReadOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Keep every file's bytes inline, so the changeset can be written back.
    let opts = ReadOptions {
        keep_content_up_to: u64::MAX,
    };
    let Ok(cs) = read_changeset_with(data, &opts) else {
        return;
    };
    let Ok(tar) = write_changeset(&cs, &|_| None, Vec::new()) else {
        return;
    };
    let back = read_changeset_with(tar.as_slice(), &opts)
        .unwrap_or_else(|e| panic!("a written changeset does not read back: {e}"));
    assert_eq!(back, cs, "changeset changed through write + read");
    let again = write_changeset(&back, &|_| None, Vec::new()).expect("writes again");
    assert_eq!(again, tar, "writing is not deterministic");
});
