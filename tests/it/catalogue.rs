//! Importing paintings into a real database (one database per test via #[sqlx::test]).

use crate::common;

use std::path::Path;

use artwall::server::catalogue::import::{import_rows, read_rows};
use indicatif::ProgressBar;
use sqlx::PgPool;

async fn import(app: &common::TestApp, csv: &Path) -> artwall::server::catalogue::import::ImportReport {
    let rows = read_rows(csv).unwrap();
    import_rows(&app.state.catalogue(), rows, csv.parent().unwrap(), &ProgressBar::hidden()).await.unwrap()
}

async fn count(db: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM paintings").fetch_one(db).await.unwrap()
}

#[sqlx::test]
async fn import_is_idempotent(db: PgPool) {
    let app = common::TestApp::new(db.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let csv = common::demo_csv(dir.path(), 6);

    let first = import(&app, &csv).await;
    assert_eq!((first.added, first.already_present, first.failed.len()), (6, 0, 0), "{:?}", first.failed);
    let second = import(&app, &csv).await;
    assert_eq!((second.added, second.already_present, second.failed.len()), (0, 6, 0));
    assert_eq!(count(&db).await, 6);

    // Keys come from the museum ids; images and sizes are recorded for layout.
    let (key, thumb_w, thumb_h, url, model): (String, i32, i32, String, String) = sqlx::query_as(
        "SELECT source_key, thumb_width, thumb_height, image_url, embedding_model FROM paintings ORDER BY id LIMIT 1",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(key, "Art Institute of Chicago:866");
    assert_eq!((thumb_w, thumb_h), (640, 783), "aic_866 (843x1031) at the card's width");
    assert_eq!(model, app.state.clip.info().id);
    let stored = app.media.path().join(url.trim_start_matches("/media/"));
    assert!(stored.exists(), "thumbnail written to {}", stored.display());
}

#[sqlx::test]
async fn bad_images_are_rejected_with_reasons_and_nothing_is_half_written(db: PgPool) {
    let app = common::TestApp::new(db.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read(common::shared_paintings().join("images/aic_866.jpg")).unwrap();
    std::fs::write(dir.path().join("empty.jpg"), b"").unwrap();
    std::fs::write(dir.path().join("text.jpg"), b"this is not an image at all").unwrap();
    std::fs::write(dir.path().join("truncated.jpg"), &good[..good.len() / 3]).unwrap();
    std::fs::write(dir.path().join("good.jpg"), &good).unwrap();
    let csv = dir.path().join("bad.csv");
    std::fs::write(
        &csv,
        "file,id,title,artist,year\n\
         empty.jpg,t:1,Empty,Nobody,1900\n\
         text.jpg,t:2,Text,Nobody,1900\n\
         truncated.jpg,t:3,Truncated,Nobody,1900\n\
         missing.jpg,t:4,Missing,Nobody,1900\n\
         good.jpg,t:5,Good,Somebody,1900\n\
         good.jpg,t:6,,No Title,1900\n",
    )
    .unwrap();
    let report = import(&app, &csv).await;
    assert_eq!(report.added, 1, "only the good row is added: {:?}", report.failed);
    let reasons: Vec<&str> = report.failed.iter().map(|(_, reason)| reason.as_str()).collect();
    assert_eq!(reasons.len(), 5, "{reasons:?}");
    // Reported in file order, each with its reason.
    assert_eq!(reasons[0], "the file is empty");
    assert_eq!(reasons[1], "the file is not a JPEG, PNG or WebP image");
    assert_eq!(reasons[2], "the image is damaged or truncated");
    assert!(reasons[3].contains("missing.jpg") && reasons[3].contains("No such file"), "{reasons:?}");
    assert_eq!(reasons[4], "title is required");
    assert!(report.failed[0].0.contains("empty.jpg"));
    assert_eq!(count(&db).await, 1);
    // Only the good painting's renditions are on disk: four sizes (843x1031 is not upscaled
    // to 960 or 2048), each as JPEG and WebP.
    let files = walk(app.media.path());
    assert_eq!(files.len(), 8, "{files:?}");
}

/// The stored files a `srcset` names, with the width each claims.
fn srcset_files(app: &common::TestApp, srcset: &str) -> Vec<(std::path::PathBuf, u32)> {
    srcset
        .split(", ")
        .map(|candidate| {
            let (url, width) = candidate.split_once(' ').expect("url and width");
            let path = app.media.path().join(url.trim_start_matches("/media/"));
            (path, width.strip_suffix('w').expect("a width descriptor").parse().unwrap())
        })
        .collect()
}

#[sqlx::test]
async fn every_size_is_stored_as_jpeg_and_smaller_webp_and_a_reembed_makes_missing_sizes(db: PgPool) {
    let app = common::TestApp::new(db.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let csv = common::demo_csv(dir.path(), 1);
    assert_eq!(import(&app, &csv).await.added, 1);
    let row = || async {
        sqlx::query_as::<_, (i64, String, String, Option<String>, Option<String>)>(
            "SELECT id, image_url, image_hd_url, image_srcset, image_srcset_webp FROM paintings",
        )
        .fetch_one(&db)
        .await
        .unwrap()
    };
    let (id, thumb, hd, srcset, srcset_webp) = row().await;
    let (srcset, srcset_webp) = (srcset.expect("sizes"), srcset_webp.expect("WebP is smaller for a painting"));
    let jpeg = srcset_files(&app, &srcset);
    let webp = srcset_files(&app, &srcset_webp);
    // aic_866 is 843x1031: 320, 640 and 768 wide, then its own size (never upscaled).
    let widths: Vec<u32> = jpeg.iter().map(|(_, width)| *width).collect();
    assert_eq!(widths, [320, 640, 768, 843]);
    assert_eq!(webp.iter().map(|(_, width)| *width).collect::<Vec<_>>(), widths);
    let total_bytes = |files: &[(std::path::PathBuf, u32)], format| {
        let mut total = 0;
        for (path, width) in files {
            let bytes = std::fs::read(path).unwrap();
            total += bytes.len();
            assert_eq!(image::guess_format(&bytes).unwrap(), format, "{}", path.display());
            assert_eq!(image::load_from_memory(&bytes).unwrap().width(), *width, "{}", path.display());
        }
        total
    };
    let (jpeg_bytes, webp_bytes) =
        (total_bytes(&jpeg, image::ImageFormat::Jpeg), total_bytes(&webp, image::ImageFormat::WebP));
    assert!(webp_bytes < jpeg_bytes, "WebP {webp_bytes} bytes, JPEG {jpeg_bytes} bytes");
    assert!(srcset.contains(&format!("{thumb} 640w")), "the card's image is the 640 one: {srcset}");
    assert!(srcset.ends_with(&format!("{hd} 843w")), "the page's image is the largest: {srcset}");

    // A painting imported before the sizes existed gets them from its HD image when re-embedded.
    sqlx::query("UPDATE paintings SET image_srcset = NULL, image_srcset_webp = NULL").execute(&db).await.unwrap();
    let results = app.state.catalogue().reembed(&[id]).await.unwrap();
    assert_eq!(results, [Ok(())]);
    let (_, _, hd_after, remade, remade_webp) = row().await;
    let remade = remade.expect("sizes made again");
    assert_eq!(hd_after, hd, "the stored HD image is kept, not encoded again");
    assert!(remade.ends_with(&format!("{hd} 843w")), "{remade}");
    assert_eq!(srcset_files(&app, &remade).iter().map(|(_, width)| *width).collect::<Vec<_>>(), widths);
    assert!(srcset_files(&app, &remade_webp.expect("and their WebP")).iter().all(|(path, _)| path.exists()));
    // A painting that has its sizes keeps them.
    app.state.catalogue().reembed(&[id]).await.unwrap();
    assert_eq!(row().await.3.as_deref(), Some(remade.as_str()));
    // One imported before a size was added (768 px, for phones) gets it.
    let without_768: Vec<&str> = remade.split(", ").filter(|candidate| !candidate.ends_with(" 768w")).collect();
    assert_eq!(without_768.len(), widths.len() - 1, "{remade}");
    sqlx::query("UPDATE paintings SET image_srcset = $1").bind(without_768.join(", ")).execute(&db).await.unwrap();
    app.state.catalogue().reembed(&[id]).await.unwrap();
    assert_eq!(row().await.3.as_deref(), Some(remade.as_str()), "the same files, named by their bytes");
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path))
        } else {
            out.push(path)
        }
    }
    out
}
