//! Machinery the features use: CLIP embeddings (ONNX Runtime), per-process caches of database
//! figures, cancel-safe transactions, image decoding within limits, media storage (local or GCS),
//! metrics, and fetching admin-given URLs without SSRF.

pub mod cache;
pub mod clip;
pub mod db;
pub mod fetch;
pub mod images;
pub mod logs;
pub mod metrics;
pub mod storage;
