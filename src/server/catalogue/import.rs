//! Import files: metadata CSV (the demo catalogue's columns) or seed-shaped JSON
//! (`{"paintings":[{title, artist, imageUrl, ...}]}`). `artwall import FILE` takes images on
//! local disk; the admin console's import jobs (`catalogue::import_jobs`) take image URLs.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Deserialize;

use crate::server::catalogue::{AddOutcome, Catalogue, NewPainting, PaintingMeta, RawMeta};
use crate::server::error::ServerResult;

const BATCH: usize = 16;

/// One row of an import file: metadata plus where its image is, on disk (for the CLI) or at
/// an http(s) URL (for the admin console's import jobs).
#[derive(Debug, Clone)]
pub struct ImportRow {
    pub label: String,
    pub meta: RawMeta,
    pub file: Option<String>,
    pub image_url: Option<String>,
}

/// How an import text is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFormat {
    /// The demo catalogue's columns.
    Csv,
    /// `{"paintings":[{title, artist, imageUrl, ...}]}`, the seed's shape.
    Json,
}

impl ImportFormat {
    /// JSON when the text starts like JSON, else CSV.
    pub fn sniff(text: &str) -> Self {
        if text.trim_start().starts_with('{') {
            Self::Json
        } else {
            Self::Csv
        }
    }
}

#[derive(Debug, Default)]
pub struct ImportReport {
    pub added: usize,
    pub already_present: usize,
    /// (row label, reason), in file order.
    pub failed: Vec<(String, String)>,
}

#[derive(Debug, Deserialize)]
struct CsvRow {
    file: String,
    #[serde(default)]
    id: Option<String>,
    title: Option<String>,
    #[serde(default)]
    title_en: Option<String>,
    artist: Option<String>,
    #[serde(default)]
    artist_en: Option<String>,
    year: Option<String>,
    style: Option<String>,
    source: Option<String>,
    #[serde(alias = "license")]
    licence: Option<String>,
    source_url: Option<String>,
    #[serde(default)]
    museum_object_id: Option<String>,
    #[serde(default)]
    tags: Option<String>,
    #[serde(default)]
    image_source_url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct JsonFile {
    paintings: Vec<JsonPainting>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonPainting {
    #[serde(flatten)]
    meta: RawMeta,
    image_url: Option<String>,
}

/// Reads an import file into rows.
pub fn read_rows(path: &Path) -> Result<Vec<ImportRow>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let is_json = path.extension().is_some_and(|ext| ext.eq_ignore_ascii_case("json"));
    parse_rows(&text, if is_json { ImportFormat::Json } else { ImportFormat::Csv })
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Parses an import text into rows. Row-level problems (a missing title, say) become failed
/// rows later; only text that cannot be read as the format at all is an error here.
pub fn parse_rows(text: &str, format: ImportFormat) -> Result<Vec<ImportRow>, String> {
    match format {
        ImportFormat::Json => {
            let file: JsonFile = serde_json::from_str(text).map_err(|e| format!("not a valid import JSON: {e}"))?;
            Ok(file
                .paintings
                .into_iter()
                .enumerate()
                .map(|(i, p)| {
                    let image = p.image_url.filter(|u| !u.trim().is_empty());
                    let (image_url, file) = match image {
                        Some(u) if is_remote(&u) => (Some(u), None),
                        other => (None, other),
                    };
                    ImportRow {
                        label: format!("#{} {}", i + 1, p.meta.title.clone().unwrap_or_default()),
                        meta: p.meta,
                        file,
                        image_url,
                    }
                })
                .collect())
        }
        ImportFormat::Csv => {
            let mut reader = csv::Reader::from_reader(text.as_bytes());
            reader
                .deserialize::<CsvRow>()
                .enumerate()
                .map(|(i, row)| {
                    let row = row.map_err(|e| format!("row {}: {e}", i + 2))?;
                    let id = row.id.or_else(|| match (&row.source, &row.museum_object_id) {
                        (Some(source), Some(object)) if !object.is_empty() => Some(format!("{source}:{object}")),
                        _ => None,
                    });
                    let image_url = row
                        .image_source_url
                        .filter(|u| is_remote(u))
                        .or_else(|| is_remote(&row.file).then(|| row.file.clone()));
                    Ok(ImportRow {
                        label: format!(
                            "row {} {}",
                            i + 2,
                            if row.file.is_empty() { row.title.clone().unwrap_or_default() } else { row.file.clone() }
                        ),
                        meta: RawMeta {
                            id,
                            title: row.title,
                            title_en: row.title_en,
                            artist: row.artist,
                            artist_en: row.artist_en,
                            year: row.year.map(serde_json::Value::String),
                            style: row.style,
                            source: row.source,
                            source_url: row.source_url,
                            license: row.licence,
                            tags: row.tags.map(|t| t.split(';').map(str::to_owned).collect()).unwrap_or_default(),
                        },
                        file: (!row.file.is_empty() && !is_remote(&row.file)).then_some(row.file),
                        image_url,
                    })
                })
                .collect()
        }
    }
}

fn is_remote(location: &str) -> bool {
    location.starts_with("http://") || location.starts_with("https://")
}

/// Imports rows whose images are files relative to `base_dir`, with a progress bar.
pub async fn import_rows(
    catalogue: &Catalogue,
    rows: Vec<ImportRow>,
    base_dir: &Path,
    progress: &ProgressBar,
) -> ServerResult<ImportReport> {
    let mut report = ImportReport::default();
    let mut failed = Vec::new();
    for (chunk_index, chunk) in rows.chunks(BATCH).enumerate() {
        // Rows already imported are skipped before their images are even read.
        let metas: Vec<Result<PaintingMeta, String>> =
            chunk.iter().map(|row| PaintingMeta::parse(row.meta.clone()).map_err(|e| e.to_string())).collect();
        let keys: Vec<String> = metas.iter().flatten().map(|meta| meta.source_key.clone()).collect();
        let existing = catalogue.existing(&keys).await?;
        let mut batch = Vec::new();
        let mut indices = Vec::new();
        for (offset, (row, meta)) in chunk.iter().zip(metas).enumerate() {
            let index = chunk_index * BATCH + offset;
            if meta.as_ref().is_ok_and(|meta| existing.contains_key(&meta.source_key)) {
                report.already_present += 1;
                progress.inc(1);
                continue;
            }
            match meta.and_then(|meta| load_image(meta, row, base_dir, catalogue.limits.max_bytes)) {
                Ok(painting) => {
                    batch.push(painting);
                    indices.push(index);
                }
                Err(reason) => {
                    failed.push((index, reason));
                    progress.inc(1);
                }
            }
        }
        for (index, outcome) in indices.into_iter().zip(catalogue.add_batch(batch).await?) {
            match outcome {
                AddOutcome::Added { .. } => report.added += 1,
                AddOutcome::AlreadyPresent { .. } => report.already_present += 1,
                AddOutcome::Failed(failure) => failed.push((index, failure.to_string())),
            }
            progress.inc(1);
        }
    }
    failed.sort_by_key(|(index, _)| *index);
    report.failed = failed.into_iter().map(|(index, reason)| (rows[index].label.clone(), reason)).collect();
    Ok(report)
}

fn load_image(meta: PaintingMeta, row: &ImportRow, base_dir: &Path, max_bytes: u64) -> Result<NewPainting, String> {
    let Some(file) = &row.file else {
        return Err(if row.image_url.is_some() {
            "remote image URLs are imported through the admin console's batch jobs, not the CLI".into()
        } else {
            "no image given".into()
        });
    };
    let path: PathBuf = base_dir.join(file);
    let size = std::fs::metadata(&path).map_err(|e| format!("image {}: {e}", path.display()))?.len();
    if size > max_bytes {
        return Err(format!("image {} is {size} bytes; the limit is {max_bytes}", path.display()));
    }
    let bytes = std::fs::read(&path).map_err(|e| format!("image {}: {e}", path.display()))?;
    Ok(NewPainting { meta, image: Bytes::from(bytes) })
}

pub fn progress_bar(len: usize) -> ProgressBar {
    let bar = ProgressBar::new(len as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} paintings, {per_sec}, ETA {eta}",
        )
        .expect("static template"),
    );
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_admin_csv_takes_its_images_from_their_source_urls() {
        let csv = "file,title,artist,year,source,licence,source_url,museum_object_id,image_source_url\n\
                   images/aic_866.jpg,Helena,Van Dyck,1631,Art Institute of Chicago,CC0,https://www.artic.edu/artworks/866,866,https://www.artic.edu/iiif/866.jpg\n";
        let rows = parse_rows(csv, ImportFormat::sniff(csv)).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].file.as_deref(), Some("images/aic_866.jpg"));
        assert_eq!(rows[0].image_url.as_deref(), Some("https://www.artic.edu/iiif/866.jpg"));
        assert_eq!(rows[0].meta.id.as_deref(), Some("Art Institute of Chicago:866"));
    }

    #[test]
    fn json_image_urls_are_remote_and_local_paths_are_files() {
        let json = r#"{"paintings":[{"id":"a","title":"A","artist":"X","imageUrl":"https://example.com/a.jpg"},{"id":"b","title":"B","artist":"Y","imageUrl":"b.jpg"}]}"#;
        assert_eq!(ImportFormat::sniff(json), ImportFormat::Json);
        let rows = parse_rows(json, ImportFormat::Json).unwrap();
        assert_eq!((rows[0].image_url.as_deref(), rows[0].file.as_deref()), (Some("https://example.com/a.jpg"), None));
        assert_eq!((rows[1].image_url.as_deref(), rows[1].file.as_deref()), (None, Some("b.jpg")));
        assert!(parse_rows("{\"paintings\": 3}", ImportFormat::Json).unwrap_err().contains("not a valid import JSON"));
    }
}
