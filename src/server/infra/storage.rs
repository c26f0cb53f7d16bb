//! Where painting images and visitors' room photos live: local disk by default, Google Cloud
//! Storage when `ARTWALL_GCS_BUCKET` is set. Paintings are public (`PUBLIC_PREFIX`, served under
//! /media from local disk); room photos are private and only ever read by the server.
//!
//! The GCS client reads and writes over HTTP but deletes only over gRPC, which the emulator we
//! test against does not speak; deletes go to the JSON API with the client's own credentials.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use url::Url;

use crate::server::config::Config;
use crate::server::error::{ServerError, ServerResult};

/// Stored objects never change under a key (keys carry a content hash), so caches may keep
/// them for a year.
pub const IMMUTABLE_CACHE_CONTROL: &str = "public, max-age=31536000, immutable";
/// The same for one person's browser only: never in a shared cache.
pub const PRIVATE_CACHE_CONTROL: &str = "private, max-age=31536000, immutable";

/// The folder of objects anyone may fetch.
pub const PUBLIC_PREFIX: &str = "paintings/";

/// Who may see an object: it decides the cache policy stored with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    Public,
    Private,
}

impl Visibility {
    pub fn cache_control(self) -> &'static str {
        match self {
            Self::Public => IMMUTABLE_CACHE_CONTROL,
            Self::Private => PRIVATE_CACHE_CONTROL,
        }
    }
}

/// An object key: lowercase ASCII letters, digits and `-_./`, no empty or dot segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaKey(String);

impl MediaKey {
    pub fn parse(key: impl Into<String>) -> ServerResult<Self> {
        let key = key.into();
        let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_./".contains(c);
        let segments_ok = key.split('/').all(|s| !s.is_empty() && s != "." && s != "..");
        if key.is_empty() || key.len() > 512 || !key.chars().all(allowed) || !segments_ok {
            return Err(ServerError::Storage(format!("invalid media key {key:?}")));
        }
        Ok(Self(key))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[allow(clippy::large_enum_variant, reason = "one per process, never moved in a hot path")]
pub enum Storage {
    Local { root: PathBuf },
    Gcs { client: google_cloud_storage::client::Storage, bucket: String, public_base: Url, json_api: JsonApi },
}

/// What a delete needs: the JSON API's base URL, the credentials the client was built with, and
/// an HTTP client.
pub struct JsonApi {
    base: Url,
    credentials: google_cloud_auth::credentials::Credentials,
    http: reqwest::Client,
}

impl Storage {
    pub async fn from_config(config: &Config) -> ServerResult<Self> {
        match &config.gcs_bucket {
            None => Ok(Self::local(&config.media_dir)),
            Some(bucket) => Self::gcs(bucket, config.gcs_endpoint.as_ref(), config.media_public_url.clone()).await,
        }
    }

    pub fn local(root: &Path) -> Self {
        Self::Local { root: root.to_path_buf() }
    }

    /// With an endpoint (an emulator) the client uses anonymous credentials; without one it uses
    /// Google's application-default credentials.
    pub async fn gcs(bucket: &str, endpoint: Option<&Url>, public_base: Option<Url>) -> ServerResult<Self> {
        let credentials = match endpoint {
            Some(_) => google_cloud_auth::credentials::anonymous::Builder::new().build(),
            None => google_cloud_auth::credentials::Builder::default()
                .build()
                .map_err(|e| ServerError::Storage(format!("GCS credentials: {e}")))?,
        };
        let mut builder = google_cloud_storage::client::Storage::builder().with_credentials(credentials.clone());
        if let Some(endpoint) = endpoint {
            builder = builder.with_endpoint(endpoint.as_str().trim_end_matches('/'));
        }
        let client = builder.build().await.map_err(|e| ServerError::Storage(format!("GCS client: {e}")))?;
        let default_base = match endpoint {
            Some(endpoint) => endpoint.clone(),
            None => Url::parse("https://storage.googleapis.com/").expect("static URL"),
        };
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|e| ServerError::Storage(format!("GCS HTTP client: {e}")))?;
        let json_api = JsonApi { base: default_base.clone(), credentials, http };
        let mut public_base = public_base.unwrap_or(default_base);
        if !public_base.path().ends_with('/') {
            public_base.set_path(&format!("{}/", public_base.path()));
        }
        Ok(Self::Gcs { client, bucket: bucket.to_owned(), public_base, json_api })
    }

    /// For the admin console and logs.
    pub fn describe(&self) -> String {
        match self {
            Self::Local { root } => format!("local disk ({})", root.display()),
            Self::Gcs { bucket, .. } => format!("Google Cloud Storage (gs://{bucket})"),
        }
    }

    pub async fn put(
        &self,
        key: &MediaKey,
        bytes: Bytes,
        content_type: &str,
        visibility: Visibility,
    ) -> ServerResult<()> {
        match self {
            Self::Local { root } => {
                let path = root.join(key.as_str());
                let dir = path.parent().expect("keys have at least one segment");
                tokio::fs::create_dir_all(dir).await?;
                // Write then rename, so a reader never sees half a file.
                let partial = dir.join(format!(".{}.partial", uuid::Uuid::new_v4()));
                tokio::fs::write(&partial, &bytes).await?;
                tokio::fs::rename(&partial, &path).await?;
                Ok(())
            }
            Self::Gcs { client, bucket, .. } => {
                // Buffered: emulators corrupt unbuffered multipart uploads.
                client
                    .write_object(bucket_path(bucket), key.as_str(), bytes)
                    .set_content_type(content_type)
                    .set_cache_control(visibility.cache_control())
                    .send_buffered()
                    .await
                    .map_err(|e| ServerError::Storage(format!("GCS write {}: {e}", key.as_str())))?;
                Ok(())
            }
        }
    }

    pub async fn get(&self, key: &MediaKey) -> ServerResult<Vec<u8>> {
        match self {
            Self::Local { root } => Ok(tokio::fs::read(root.join(key.as_str())).await?),
            Self::Gcs { client, bucket, .. } => {
                let storage_error =
                    |e: google_cloud_storage::Error| ServerError::Storage(format!("GCS read {}: {e}", key.as_str()));
                let mut response =
                    client.read_object(bucket_path(bucket), key.as_str()).send().await.map_err(storage_error)?;
                let mut contents = Vec::new();
                while let Some(chunk) = response.next().await.transpose().map_err(storage_error)? {
                    contents.extend_from_slice(&chunk);
                }
                Ok(contents)
            }
        }
    }

    /// Deletes an object; one that is gone already is fine.
    pub async fn delete(&self, key: &MediaKey) -> ServerResult<()> {
        match self {
            Self::Local { root } => match tokio::fs::remove_file(root.join(key.as_str())).await {
                Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error.into()),
                _ => Ok(()),
            },
            Self::Gcs { bucket, json_api, .. } => json_api.delete(bucket, key).await,
        }
    }

    /// The key of an object from the URL `public_url` gave it (None for another site's URL).
    pub fn key_for_url(&self, url: &str) -> Option<MediaKey> {
        let key = match self {
            Self::Local { .. } => url.strip_prefix("/media/")?,
            Self::Gcs { bucket, public_base, .. } => url.strip_prefix(&format!("{public_base}{bucket}/"))?,
        };
        MediaKey::parse(key.to_owned()).ok()
    }

    /// The URL a browser fetches the object from.
    pub fn public_url(&self, key: &MediaKey) -> String {
        match self {
            Self::Local { .. } => format!("/media/{}", key.as_str()),
            Self::Gcs { bucket, public_base, .. } => format!("{public_base}{bucket}/{}", key.as_str()),
        }
    }
}

impl JsonApi {
    async fn delete(&self, bucket: &str, key: &MediaKey) -> ServerResult<()> {
        let failed = |e: &dyn std::fmt::Display| ServerError::Storage(format!("GCS delete {}: {e}", key.as_str()));
        let mut url = self.base.clone();
        // Each piece one path segment: the key's slashes are escaped, as the API wants.
        url.path_segments_mut().map_err(|()| failed(&"the endpoint cannot be a base URL"))?.pop_if_empty().extend([
            "storage",
            "v1",
            "b",
            bucket,
            "o",
            key.as_str(),
        ]);
        let headers = match self.credentials.headers(axum::http::Extensions::new()).await {
            Ok(google_cloud_auth::credentials::CacheableResource::New { data, .. }) => data,
            // Only asked for with an entity tag, which this call does not send.
            Ok(google_cloud_auth::credentials::CacheableResource::NotModified) => Default::default(),
            Err(e) => return Err(failed(&e)),
        };
        let response = self.http.delete(url).headers(headers).send().await.map_err(|e| failed(&e))?;
        match response.status() {
            status if status.is_success() || status == reqwest::StatusCode::NOT_FOUND => Ok(()),
            status => Err(failed(&status)),
        }
    }
}

fn bucket_path(bucket: &str) -> String {
    format!("projects/_/buckets/{bucket}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_keys_reject_traversal_and_odd_characters() {
        assert!(MediaKey::parse("paintings/aic-866/ab12-thumb.jpg").is_ok());
        for bad in ["", "../etc/passwd", "a//b", "a/./b", "Upper.jpg", "a b.jpg", "/abs.jpg", "x/"] {
            assert!(MediaKey::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[tokio::test]
    async fn local_storage_round_trips_and_serves_under_media() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::local(dir.path());
        let key = MediaKey::parse("paintings/x/1-thumb.jpg").unwrap();
        storage.put(&key, Bytes::from_static(b"jpeg bytes"), "image/jpeg", Visibility::Public).await.unwrap();
        assert_eq!(storage.get(&key).await.unwrap(), b"jpeg bytes");
        assert_eq!(storage.public_url(&key), "/media/paintings/x/1-thumb.jpg");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("paintings/x")).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no partial files left behind");
    }
}
