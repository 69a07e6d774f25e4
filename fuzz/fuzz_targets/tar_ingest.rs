//! blob-store's layer ingest (compression sniffing, gzip/zstd decoding, the streaming tar
//! check) on any bytes, into a store on a private tmpfs. Properties: nothing panics; an
//! error is an `InvalidArgument` naming the stream (`invalid tar: `, `invalid gzip stream: `,
//! `invalid zstd stream: `) and leaves nothing behind (no blob, no temp file); a plain tar
//! that is accepted is stored byte for byte under its sha256, with the sizes reported right,
//! and every reader takes it: the changeset reader reads it, and unless its shape holds an
//! entry that cannot be applied (which `load`/`import`/`pull` then refuse), `layer-apply`
//! unpacks it as `create` does, failing only on a limit.
#![no_main]

use blob_store::{ingest_layer, BlobStore, Compression, ErrorKind};
use libfuzzer_sys::fuzz_target;
use oci_model::Sha256Writer;
use std::io::Write;
use std::sync::OnceLock;

static STORE: OnceLock<(std::path::PathBuf, BlobStore)> = OnceLock::new();

fuzz_target!(
    init: {
        let dir = strata_fuzz::sandbox().join("store");
        let store = BlobStore::open(&dir).expect("open store");
        STORE.set((dir, store)).ok().expect("init once");
    },
    |data: &[u8]| {
        let (dir, store) = STORE.get().expect("init ran");
        match ingest_layer(store, data) {
            Ok(got) => {
                assert_eq!(got.source_size, data.len() as u64);
                let stored = store.read(&got.diff_id).expect("the blob is stored");
                assert_eq!(stored.len() as u64, got.size);
                if got.compression == Compression::None {
                    assert_eq!(stored, data, "a plain tar is stored as given");
                    let mut h = Sha256Writer::new();
                    h.write_all(data).unwrap();
                    assert_eq!(got.diff_id, h.finish());
                    assert_eq!(got.source_digest.as_ref(), Some(&got.diff_id));
                    if let Err(e) = layer_diff::read_changeset(data) {
                        panic!("ingest took a tar the changeset reader refuses: {e}");
                    }
                    let refused = layer_union::Union::build(std::slice::from_ref(&got.shape))
                        .refusal()
                        .is_some();
                    if !refused {
                        let root = dir.join("unpack");
                        let _ = std::fs::remove_dir_all(&root);
                        std::fs::create_dir(&root).expect("unpack dir");
                        let opts = layer_apply::ApplyOptions {
                            mode: layer_apply::Mode::Unpack,
                            ..Default::default()
                        };
                        if let Err(e) = layer_apply::apply_on(&root, &[], data, &opts) {
                            assert_eq!(
                                e.kind(),
                                layer_apply::ErrorKind::Limit,
                                "ingest took a tar that create cannot unpack: {e}"
                            );
                        }
                        std::fs::remove_dir_all(&root).expect("remove unpack dir");
                    }
                }
                store.delete(&got.diff_id).expect("delete");
            }
            Err(e) => {
                let text = e.to_string();
                assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{text}");
                assert!(
                    ["invalid tar: ", "invalid gzip stream: ", "invalid zstd stream: "]
                        .iter()
                        .any(|p| text.starts_with(p)),
                    "error text {text:?}"
                );
            }
        }
        assert!(store.list().expect("list").is_empty(), "a blob was left behind");
        let temps = std::fs::read_dir(dir.join("ingest")).expect("ingest dir").count();
        assert_eq!(temps, 0, "a temp file was left behind");
    }
);
