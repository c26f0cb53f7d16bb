//! The GCS storage backend, with Google's real client against fake-gcs-server
//! (FAKE_GCS_SERVER_BIN, set by `make test`).

use crate::common;

use std::process::{Child, Command, Stdio};

use artwall::server::catalogue::{AddOutcome, Catalogue, NewPainting, PaintingMeta, RawMeta};
use artwall::server::infra::storage::{MediaKey, Storage, Visibility};
use bytes::Bytes;
use sqlx::PgPool;

const BUCKET: &str = "artwall-test";

/// A fake-gcs-server on a free loopback port, with the test bucket; killed on drop.
struct FakeGcs {
    child: Child,
    endpoint: url::Url,
    _data: tempfile::TempDir,
}

impl FakeGcs {
    fn start() -> Self {
        let binary = std::env::var("FAKE_GCS_SERVER_BIN").expect("FAKE_GCS_SERVER_BIN (run `make test`)");
        let port = common::free_port();
        let data = tempfile::tempdir().unwrap();
        std::fs::create_dir(data.path().join(BUCKET)).unwrap(); // a folder per bucket
        let child = Command::new(binary)
            .args(["-scheme", "http", "-host", "127.0.0.1", "-port", &port.to_string(), "-backend", "memory"])
            .args(["-data", data.path().to_str().unwrap(), "-public-host", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("fake-gcs-server starts");
        common::wait_for_port(port, "fake-gcs-server");
        Self { child, endpoint: format!("http://127.0.0.1:{port}/").parse().unwrap(), _data: data }
    }

    async fn storage(&self) -> Storage {
        Storage::gcs(BUCKET, Some(&self.endpoint), None).await.unwrap()
    }
}

impl Drop for FakeGcs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn objects_round_trip_through_the_real_gcs_client() {
    let gcs = FakeGcs::start();
    let storage = gcs.storage().await;
    assert!(storage.describe().contains("gs://artwall-test"));
    let key = MediaKey::parse("paintings/test/abc-600.jpg").unwrap();
    let payload: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    storage.put(&key, Bytes::from(payload.clone()), "image/jpeg", Visibility::Public).await.unwrap();
    assert_eq!(storage.get(&key).await.unwrap(), payload, "bytes survive the trip unchanged");
    assert_eq!(storage.public_url(&key), format!("{}artwall-test/paintings/test/abc-600.jpg", gcs.endpoint));
    let missing = MediaKey::parse("paintings/none.jpg").unwrap();
    assert!(storage.get(&missing).await.is_err());

    let neighbour = MediaKey::parse("paintings/test/abc-1200.jpg").unwrap();
    storage.put(&neighbour, Bytes::from_static(b"kept"), "image/jpeg", Visibility::Private).await.unwrap();
    storage.delete(&key).await.unwrap();
    assert!(storage.get(&key).await.is_err(), "a deleted object is gone");
    assert_eq!(storage.get(&neighbour).await.unwrap(), b"kept", "and only that one");
    storage.delete(&key).await.expect("deleting what is gone already is fine");
}

#[sqlx::test]
async fn imported_paintings_store_their_renditions_in_gcs(db: PgPool) {
    let gcs = FakeGcs::start();
    let catalogue = Catalogue {
        db: db.clone(),
        clip: common::clip(),
        storage: std::sync::Arc::new(gcs.storage().await),
        limits: artwall::server::infra::images::ImageLimits { max_bytes: 50 << 20, max_pixels: 100_000_000 },
    };
    let meta = PaintingMeta::parse(RawMeta {
        id: Some("gcs:1".into()),
        title: Some("Helena".into()),
        artist: Some("Van Dyck".into()),
        ..Default::default()
    })
    .unwrap();
    let image = Bytes::from(std::fs::read(common::shared_paintings().join("images/aic_866.jpg")).unwrap());
    let outcomes = catalogue.add_batch(vec![NewPainting { meta, image }]).await.unwrap();
    assert!(matches!(outcomes[..], [AddOutcome::Added { .. }]), "{outcomes:?}");
    let url: String = sqlx::query_scalar("SELECT image_url FROM paintings").fetch_one(&db).await.unwrap();
    let key = url.strip_prefix(&format!("{}{BUCKET}/", gcs.endpoint)).expect("a GCS URL");
    let thumb = catalogue.storage.get(&MediaKey::parse(key).unwrap()).await.unwrap();
    let decoded = image::load_from_memory(&thumb).unwrap();
    assert_eq!(decoded.width(), 640);
}
