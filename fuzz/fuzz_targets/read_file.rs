//! Any bytes as an arrstore file: every read path must give the writer's values or an error,
//! never a panic, a hang or an allocation beyond what the checked shape allows. Run with
//! `cargo +nightly fuzz run read_file -- -rss_limit_mb=4096` from the repository's top folder.

#![no_main]

use arrstore::ArrayFile;
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // libFuzzer's hook aborts on every panic, caught or not; this one, installed over it, lets
    // the panics arrstore contains (a malformed page in the Parquet decoder) become the errors
    // they are and hands every other panic to libFuzzer's hook.
    arrstore::contain::quiet_contained_panics();
    let file = Bytes::copy_from_slice(data);
    let open = || ArrayFile::new(file.clone());
    if let Ok(f) = open() {
        let _ = f.sizes();
        let _ = f.meta().to_json();
    }
    let _ = open().and_then(ArrayFile::verify);
    let _ = open().and_then(ArrayFile::read_dyn_coo);
    let _ = open().and_then(|f| f.write_npy_to(std::io::sink()));
    let _ = open().and_then(ArrayFile::read_narrowed).and_then(|n| n.widen());
});
