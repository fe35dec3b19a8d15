//! Clip storage over `object_store`: local disk, memory or S3, chosen by a
//! URL. Uploads stream into storage in parts (a clip is never held whole in
//! memory) and vanish when refused or broken; reads serve byte ranges.

pub mod photo;
pub mod pod;
pub mod segment;
pub mod sniff;

use std::path::Path as FsPath;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::signer::Signer;
use object_store::{GetOptions, GetRange, GetResult, ObjectStore, ObjectStoreExt, WriteMultipart};

/// What went wrong with clip storage.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("unsupported clip store {0:?}: use file:///abs/path, memory:// or s3://bucket")]
    BadUrl(String),
    #[error("clip store failed")]
    Store(#[from] object_store::Error),
    #[error("could not prepare {0}")]
    Dir(String, #[source] std::io::Error),
}

/// Why an upload was refused; nothing of it is left in storage.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("the clip is larger than {0} bytes")]
    TooLarge(u64),
    #[error("the upload broke off: {0}")]
    Broken(String),
    #[error(transparent)]
    Store(#[from] MediaError),
}

/// Explicit S3 settings; without them the usual `AWS_*` variables apply.
#[derive(Debug, Clone, Default)]
pub struct S3Config {
    pub endpoint: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub region: Option<String>,
    pub allow_http: bool,
}

/// A handle to the clip store; cheap to clone.
#[derive(Clone)]
pub struct ClipStore {
    store: Arc<dyn ObjectStore>,
    /// The same store when it is S3, for presigned URLs.
    s3: Option<Arc<AmazonS3>>,
    label: String,
}

/// Size of each part streamed to storage.
const PART: usize = 5 * 1024 * 1024;

impl ClipStore {
    /// Opens the store a `VINPATH_STORE` URL names.
    pub fn open(url: &str, s3: Option<&S3Config>) -> Result<Self, MediaError> {
        if let Some(path) = url.strip_prefix("file://") {
            if !path.starts_with('/') {
                return Err(MediaError::BadUrl(url.into()));
            }
            std::fs::create_dir_all(path).map_err(|e| MediaError::Dir(path.into(), e))?;
            // A clip acknowledged to a carrier (who may then delete their
            // copy) must survive a crash: written files are synced.
            let fs = LocalFileSystem::new_with_prefix(FsPath::new(path))?.with_fsync(true);
            return Ok(Self {
                store: Arc::new(fs),
                s3: None,
                label: url.into(),
            });
        }
        if url == "memory://" || url == "memory:" {
            return Ok(Self {
                store: Arc::new(InMemory::new()),
                s3: None,
                label: url.into(),
            });
        }
        if let Some(bucket) = url.strip_prefix("s3://") {
            let bucket = bucket.trim_end_matches('/');
            if bucket.is_empty() || bucket.contains('/') {
                return Err(MediaError::BadUrl(url.into()));
            }
            let mut b = AmazonS3Builder::from_env().with_bucket_name(bucket);
            if let Some(c) = s3 {
                if let Some(e) = &c.endpoint {
                    b = b.with_endpoint(e);
                }
                if let Some(k) = &c.access_key_id {
                    b = b.with_access_key_id(k);
                }
                if let Some(s) = &c.secret_access_key {
                    b = b.with_secret_access_key(s);
                }
                if let Some(r) = &c.region {
                    b = b.with_region(r);
                }
                if c.allow_http {
                    b = b.with_allow_http(true);
                }
            }
            let s3 = Arc::new(b.build()?);
            return Ok(Self {
                store: s3.clone(),
                s3: Some(s3),
                label: url.into(),
            });
        }
        Err(MediaError::BadUrl(url.into()))
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    pub fn is_s3(&self) -> bool {
        self.s3.is_some()
    }

    /// Whether the store answers now (a missing object is an answer).
    pub async fn ping(&self) -> Result<(), MediaError> {
        match self.store.head(&Path::from("vinpath-ping")).await {
            Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Streams a clip into storage at `key`: `head` first, then the rest.
    /// More than `max` bytes, or a broken stream, aborts the upload and
    /// leaves nothing behind. Returns the size.
    pub async fn upload<S, E>(
        &self,
        key: &str,
        head: Bytes,
        mut rest: S,
        max: u64,
    ) -> Result<u64, UploadError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let path = Path::from(key);
        let upload = self
            .store
            .put_multipart(&path)
            .await
            .map_err(MediaError::from)?;
        let mut writer = Unfinished(Some(WriteMultipart::new_with_chunk_size(upload, PART)));
        let mut size = head.len() as u64;
        writer.put(head);
        let failure = loop {
            match rest.next().await {
                None => break None,
                Some(Err(e)) => break Some(UploadError::Broken(e.to_string())),
                Some(Ok(chunk)) => {
                    size += chunk.len() as u64;
                    if size > max {
                        break Some(UploadError::TooLarge(max));
                    }
                    writer.put(chunk);
                    if let Err(e) = writer.wait_for_capacity().await {
                        break Some(UploadError::Store(e.into()));
                    }
                }
            }
        };
        if let Some(e) = failure {
            if let Err(abort) = writer.abort().await {
                tracing::warn!(error = %abort, key, "could not abort a refused upload");
            }
            return Err(e);
        }
        writer.finish().await.map_err(MediaError::from)?;
        Ok(size)
    }

    /// Reads a clip, or a range of it.
    pub async fn get(&self, key: &str, range: Option<(u64, u64)>) -> Result<GetResult, MediaError> {
        let opts = GetOptions {
            range: range.map(|(start, end)| GetRange::Bounded(start..end + 1)),
            ..GetOptions::default()
        };
        Ok(self.store.get_opts(&Path::from(key), opts).await?)
    }

    /// Writes a small object whole (an archived order), replacing any.
    pub async fn put_whole(&self, key: &str, bytes: Vec<u8>) -> Result<(), MediaError> {
        self.store
            .put(&Path::from(key), bytes::Bytes::from(bytes).into())
            .await?;
        Ok(())
    }

    /// Reads a small object whole; `None` when there is none.
    pub async fn get_whole(&self, key: &str) -> Result<Option<bytes::Bytes>, MediaError> {
        match self.store.get(&Path::from(key)).await {
            Ok(r) => Ok(Some(r.bytes().await?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The objects under `prefix` last written before `before` (at most
    /// `limit`).
    pub async fn written_before(
        &self,
        prefix: &str,
        before: chrono::DateTime<chrono::Utc>,
        limit: usize,
    ) -> Result<Vec<String>, MediaError> {
        let prefix = Path::from(prefix);
        let mut listing = self.store.list(Some(&prefix));
        let mut out = Vec::new();
        while let Some(meta) = listing.next().await {
            let meta = meta?;
            if meta.last_modified < before {
                out.push(meta.location.to_string());
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// An object's size; `None` when it does not exist.
    pub async fn size(&self, key: &str) -> Result<Option<u64>, MediaError> {
        match self.store.head(&Path::from(key)).await {
            Ok(m) => Ok(Some(m.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes a clip; a missing one is already deleted.
    pub async fn delete(&self, key: &str) -> Result<(), MediaError> {
        match self.store.delete(&Path::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// A short-lived URL to read the clip straight from S3, where the store
    /// is S3.
    pub async fn presigned(&self, key: &str, ttl: Duration) -> Result<Option<String>, MediaError> {
        let Some(s3) = &self.s3 else { return Ok(None) };
        let url = s3
            .signed_url(http::Method::GET, &Path::from(key), ttl)
            .await?;
        Ok(Some(url.to_string()))
    }
}

/// A multipart upload under way. Dropped unfinished (the request was
/// dropped mid-stream), it is aborted in the background, so no part stays.
struct Unfinished(Option<WriteMultipart>);

impl Unfinished {
    fn put(&mut self, bytes: Bytes) {
        if let Some(w) = &mut self.0 {
            w.put(bytes);
        }
    }

    /// Waits while two parts are in flight, so memory stays bounded.
    async fn wait_for_capacity(&mut self) -> object_store::Result<()> {
        match &mut self.0 {
            Some(w) => w.wait_for_capacity(2).await,
            None => Ok(()),
        }
    }

    async fn finish(mut self) -> object_store::Result<()> {
        match self.0.take() {
            Some(w) => w.finish().await.map(|_| ()),
            None => Ok(()),
        }
    }

    async fn abort(mut self) -> object_store::Result<()> {
        match self.0.take() {
            Some(w) => w.abort().await,
            None => Ok(()),
        }
    }
}

impl Drop for Unfinished {
    fn drop(&mut self) {
        if let Some(w) = self.0.take()
            && let Ok(rt) = tokio::runtime::Handle::try_current()
        {
            rt.spawn(async move {
                if let Err(e) = w.abort().await {
                    tracing::warn!(error = %e, "could not abort an abandoned upload");
                }
            });
        }
    }
}
