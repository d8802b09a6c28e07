//! The object store under SQL scans: every byte DataFusion reads of a registered arrstore file
//! passes through the file's [`Verifier`], as it does for the library's reads.
//!
//! [`CheckedStore`] wraps the store DataFusion reads local files with. A registered file's
//! ranges are widened to whole checksum blocks, fetched from the store underneath, checked and
//! cut back to the range asked for; the tail (footer and page indexes), checked when the file
//! was opened, is served from memory. Other objects pass through unchanged. A mismatch fails
//! the query with [`Error::ChecksumMismatch`] naming the bytes, row group, column and pages; a
//! file whose length changed since it was registered fails it too.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetRange, GetResult, GetResultPayload, ListResult, MultipartUpload, ObjectMeta,
    ObjectStore, ObjectStoreExt, PutMultipartOptions, PutOptions, PutPayload, PutResult,
};

use crate::error::Error;
use crate::integrity::Verifier;

/// An object store that checks the registered files' bytes against their checksums.
pub(crate) struct CheckedStore {
    inner: Arc<dyn ObjectStore>,
    files: RwLock<HashMap<Path, Arc<Verifier>>>,
}

impl fmt::Debug for CheckedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CheckedStore({})", self.inner)
    }
}

impl fmt::Display for CheckedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CheckedStore({})", self.inner)
    }
}

impl CheckedStore {
    /// `inner`, with no file registered yet.
    pub(crate) fn new(inner: Arc<dyn ObjectStore>) -> CheckedStore {
        CheckedStore {
            inner,
            files: RwLock::new(HashMap::new()),
        }
    }

    /// Checks every read of `location` with `verifier` from now on.
    pub(crate) fn watch(&self, location: Path, verifier: Arc<Verifier>) {
        if let Ok(mut files) = self.files.write() {
            files.insert(location, verifier);
        }
    }

    fn verifier(&self, location: &Path) -> Option<Arc<Verifier>> {
        self.files.read().ok().and_then(|f| f.get(location).cloned())
    }
}

/// `e` as the store's error, kept whole for the query's error chain.
fn store_error(location: &Path, e: Error) -> object_store::Error {
    object_store::Error::Generic {
        store: "arrstore checked store",
        source: format!("{location}: {e}").into(),
    }
}

#[async_trait]
impl ObjectStore for CheckedStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> object_store::Result<GetResult> {
        let Some(verifier) = self.verifier(location) else {
            return self.inner.get_opts(location, options).await;
        };
        if options.head {
            return self.inner.get_opts(location, options).await;
        }
        let len = verifier.file_len();
        let range: Range<u64> = match &options.range {
            None => 0..len,
            Some(GetRange::Bounded(r)) => r.start..r.end.min(len),
            Some(GetRange::Offset(o)) => *o..len,
            Some(GetRange::Suffix(n)) => len.saturating_sub(*n)..len,
        };
        let fetch = verifier.fetch_for(&range).map_err(|e| store_error(location, e))?;
        let (fetched, meta, attributes) = match fetch {
            Some(r) => {
                let got = self
                    .inner
                    .get_opts(
                        location,
                        GetOptions {
                            range: Some(GetRange::Bounded(r)),
                            ..options
                        },
                    )
                    .await?;
                let (meta, attributes) = (got.meta.clone(), got.attributes.clone());
                (Some(got.bytes().await?), meta, attributes)
            }
            None => (None, self.inner.head(location).await?, Default::default()),
        };
        if meta.size != len {
            return Err(store_error(
                location,
                Error::CorruptData(format!(
                    "the file has {} bytes; it had {len} when it was registered",
                    meta.size
                )),
            ));
        }
        let bytes = verifier
            .assemble(range.clone(), fetched)
            .map_err(|e| store_error(location, e))?;
        let stream = futures::stream::once(async move { Ok::<Bytes, object_store::Error>(bytes) });
        Ok(GetResult {
            payload: GetResultPayload::Stream(stream.boxed()),
            meta,
            range,
            attributes,
        })
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}
