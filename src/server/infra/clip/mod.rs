//! In-process CLIP through ONNX Runtime.
//!
//! A model folder holds `model.json` (id, kind, label), `visual.onnx` (float32 [N,3,224,224] ->
//! [N,512]) and `textual.onnx` (int64 or int32 [N,77] -> [N,512]). Input and output names are
//! discovered from the sessions, so exports from different tools work unchanged.
//!
//! Each session is created once and shared behind a mutex (ONNX Runtime's `run` needs exclusive
//! access); inference runs on tokio's blocking pool, never on the async worker threads.

pub mod preprocess;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use ort::environment::Environment;
use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use ort::value::{Tensor, TensorElementType};
use serde::Deserialize;

use crate::server::error::{ServerError, ServerResult};
use crate::server::infra::metrics;

pub const EMBEDDING_DIM: usize = 512;
pub const CONTEXT_LENGTH: usize = 77;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// Real CLIP weights.
    Clip,
    /// ArtWall's training-free stand-in (scripts/make_standin_model.py): not CLIP.
    Standin,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ModelInfo {
    pub id: String,
    pub kind: ModelKind,
    pub label: String,
    #[serde(default = "default_visual")]
    visual: PathBuf,
    #[serde(default = "default_textual")]
    textual: PathBuf,
}

impl ModelInfo {
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            ModelKind::Clip => "clip",
            ModelKind::Standin => "standin",
        }
    }
}

fn default_visual() -> PathBuf {
    "visual.onnx".into()
}
fn default_textual() -> PathBuf {
    "textual.onnx".into()
}

/// One ONNX graph with the names of the input and output we use.
struct Tower {
    session: Mutex<Session>,
    input: String,
    input_type: TensorElementType,
    /// Some text exports (Hugging Face's) also take an attention mask.
    mask_input: Option<String>,
    output: String,
}

pub struct Clip {
    info: ModelInfo,
    visual: Tower,
    textual: Tower,
    tokenizer: TextTokenizer,
}

/// CLIP's BPE tokenizer with CLIP's text clean-up (HTML entities unescaped twice).
pub struct TextTokenizer(instant_clip_tokenizer::Tokenizer);

impl Default for TextTokenizer {
    fn default() -> Self {
        Self(instant_clip_tokenizer::Tokenizer::new())
    }
}

impl TextTokenizer {
    /// CLIP token ids, wrapped in start/end markers and padded or truncated to 77.
    pub fn tokenize(&self, text: &str) -> Vec<i64> {
        let once = html_escape::decode_html_entities(text);
        let text = html_escape::decode_html_entities(&once);
        let mut tokens = vec![self.0.start_of_text()];
        self.0.encode(&text, &mut tokens);
        tokens.truncate(CONTEXT_LENGTH - 1);
        tokens.push(self.0.end_of_text());
        let mut ids: Vec<i64> = tokens.into_iter().map(|t| i64::from(t.to_u16())).collect();
        ids.resize(CONTEXT_LENGTH, 0);
        ids
    }
}

/// ONNX Runtime allows one environment per process; every model shares it.
fn environment(ort_dylib: Option<&Path>) -> ServerResult<&'static Environment> {
    static ENVIRONMENT: OnceLock<Environment> = OnceLock::new();
    if let Some(env) = ENVIRONMENT.get() {
        return Ok(env);
    }
    let builder = match ort_dylib {
        Some(path) => {
            ort::init_from(path).map_err(|e| ServerError::Model(format!("loading {}: {e}", path.display())))?
        }
        None => return Err(ServerError::Model("ORT_DYLIB_PATH is not set: point it at libonnxruntime.so".into())),
    };
    let env = builder.with_name("artwall").build()?;
    Ok(ENVIRONMENT.get_or_init(|| env))
}

impl Clip {
    pub fn load(model_dir: &Path, ort_dylib: Option<&Path>, threads: usize) -> ServerResult<Self> {
        let manifest = model_dir.join("model.json");
        let text = std::fs::read_to_string(&manifest)
            .map_err(|e| ServerError::Model(format!("reading {}: {e}", manifest.display())))?;
        let info: ModelInfo = serde_json::from_str(&text)
            .map_err(|e| ServerError::Model(format!("parsing {}: {e}", manifest.display())))?;
        let env = environment(ort_dylib)?;
        let visual = Tower::open(env, &model_dir.join(&info.visual), threads, Modality::Image)?;
        let textual = Tower::open(env, &model_dir.join(&info.textual), threads, Modality::Text)?;
        tracing::info!(model = %info.id, kind = ?info.kind, label = %info.label,
            visual_input = %visual.input, text_input = %textual.input, "model loaded");
        Ok(Self { info, visual, textual, tokenizer: TextTokenizer::default() })
    }

    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// Embeds preprocessed images: `pixels` holds `n` tensors of `preprocess::TENSOR_LEN` floats.
    /// Blocking; call through `embed_images` from async code.
    pub fn embed_images_blocking(&self, pixels: Vec<f32>) -> ServerResult<Vec<Vec<f32>>> {
        let n = pixels.len() / preprocess::TENSOR_LEN;
        assert_eq!(n * preprocess::TENSOR_LEN, pixels.len(), "pixels must be whole 3x224x224 tensors");
        if n == 0 {
            return Ok(Vec::new());
        }
        let tensor = Tensor::from_array(([n, 3, preprocess::SIZE as usize, preprocess::SIZE as usize], pixels))?;
        let started = Instant::now();
        let embeddings = self.visual.run(tensor.upcast(), None, n)?;
        metrics::inference("image", n, started.elapsed());
        Ok(embeddings)
    }

    pub async fn embed_images(self: &Arc<Self>, pixels: Vec<f32>) -> ServerResult<Vec<Vec<f32>>> {
        let clip = Arc::clone(self);
        tokio::task::spawn_blocking(move || clip.embed_images_blocking(pixels)).await?
    }

    pub fn embed_texts_blocking(&self, texts: &[String]) -> ServerResult<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = texts.iter().flat_map(|t| self.tokenizer.tokenize(t)).collect();
        let shape = [texts.len(), CONTEXT_LENGTH];
        // The mask covers every token up to and including the end marker.
        let end = i64::from(self.tokenizer.0.end_of_text().to_u16());
        let mask: Vec<i64> = ids
            .chunks_exact(CONTEXT_LENGTH)
            .flat_map(|row| {
                let last = row.iter().position(|&id| id == end).unwrap_or(CONTEXT_LENGTH - 1);
                (0..CONTEXT_LENGTH).map(move |i| i64::from(i <= last))
            })
            .collect();
        let int_tensor = |values: Vec<i64>| -> ServerResult<ort::value::DynTensor> {
            Ok(match self.textual.input_type {
                TensorElementType::Int32 => {
                    Tensor::from_array((shape, values.into_iter().map(|v| v as i32).collect::<Vec<_>>()))?.upcast()
                }
                _ => Tensor::from_array((shape, values))?.upcast(),
            })
        };
        let started = Instant::now();
        let embeddings = self.textual.run(int_tensor(ids)?, Some(int_tensor(mask)?), texts.len())?;
        metrics::inference("text", texts.len(), started.elapsed());
        Ok(embeddings)
    }

    pub async fn embed_texts(self: &Arc<Self>, texts: Vec<String>) -> ServerResult<Vec<Vec<f32>>> {
        let clip = Arc::clone(self);
        tokio::task::spawn_blocking(move || clip.embed_texts_blocking(&texts)).await?
    }
}

#[derive(Clone, Copy)]
enum Modality {
    Image,
    Text,
}

impl Tower {
    fn open(env: &Environment, path: &Path, threads: usize, modality: Modality) -> ServerResult<Self> {
        let session = Session::builder(env)?
            .with_optimization_level(GraphOptimizationLevel::All)
            .map_err(ort::Error::from)?
            .with_intra_threads(threads.max(1))
            .map_err(ort::Error::from)?
            // Idle inference threads would otherwise spin and starve image decoding and the
            // web server on the same cores.
            .with_intra_op_spinning(false)
            .map_err(ort::Error::from)?
            .commit_from_file(path)
            .map_err(|e| ServerError::Model(format!("opening {}: {e}", path.display())))?;
        let wanted_rank = match modality {
            Modality::Image => 4,
            Modality::Text => 2,
        };
        let input = session
            .inputs()
            .iter()
            .find(|outlet| outlet.dtype().tensor_shape().is_some_and(|shape| shape.len() == wanted_rank))
            .ok_or_else(|| ServerError::Model(format!("{}: no rank-{wanted_rank} tensor input", path.display())))?;
        let input_type = input.dtype().tensor_type().unwrap_or(TensorElementType::Float32);
        let valid_type = match modality {
            Modality::Image => input_type == TensorElementType::Float32,
            Modality::Text => matches!(input_type, TensorElementType::Int64 | TensorElementType::Int32),
        };
        if !valid_type {
            return Err(ServerError::Model(format!("{}: unexpected input type {input_type:?}", path.display())));
        }
        // The embedding is the rank-2 output of width 512 (exports may add hidden states).
        let output = session
            .outputs()
            .iter()
            .find(|outlet| {
                outlet.dtype().tensor_shape().is_some_and(|shape| shape.len() == 2 && shape[1] == EMBEDDING_DIM as i64)
            })
            .ok_or_else(|| ServerError::Model(format!("{}: no [N,512] output", path.display())))?;
        let mask_input = match modality {
            Modality::Text => {
                session.inputs().iter().map(|i| i.name()).find(|name| name.contains("mask")).map(str::to_owned)
            }
            Modality::Image => None,
        };
        let (input, output) = (input.name().to_owned(), output.name().to_owned());
        Ok(Self { session: Mutex::new(session), input, input_type, mask_input, output })
    }

    fn run(
        &self,
        input: ort::value::DynTensor,
        mask: Option<ort::value::DynTensor>,
        n: usize,
    ) -> ServerResult<Vec<Vec<f32>>> {
        let mut session = self.session.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut inputs = ort::inputs![self.input.as_str() => input];
        if let (Some(name), Some(mask)) = (&self.mask_input, mask) {
            inputs.push((name.clone().into(), mask.into()));
        }
        let outputs = session.run(inputs)?;
        let (shape, data) = outputs[self.output.as_str()].try_extract_tensor::<f32>()?;
        if shape.len() != 2 || shape[0] as usize != n || shape[1] as usize != EMBEDDING_DIM {
            return Err(ServerError::Model(format!("unexpected output shape {:?}", &shape[..])));
        }
        Ok(data.chunks_exact(EMBEDDING_DIM).map(l2_normalised).collect())
    }
}

pub fn l2_normalised(v: &[f32]) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm == 0.0 {
        return v.to_vec();
    }
    v.iter().map(|x| x / norm).collect()
}

pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
