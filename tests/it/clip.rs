//! CLIP pipeline: preprocessing against CLIP's reference tensor, tokenizer ids against CLIP's
//! reference tokenizer, batch/single equivalence, and the stand-in's colour semantics.

use crate::common;

use artwall::server::infra::clip::{cosine, preprocess, TextTokenizer};
use artwall::server::infra::images::{decode_rgb, ImageLimits};
use ndarray::Array4;
use ndarray_npy::ReadNpyExt;

const LIMITS: ImageLimits = ImageLimits { max_bytes: 50 << 20, max_pixels: 100_000_000 };

#[test]
fn preprocessing_matches_clip_reference_tensor() {
    let fixtures = common::repo().join("tests/fixtures");
    let image = decode_rgb(&std::fs::read(fixtures.join("franz-kafka.jpg")).unwrap(), LIMITS).unwrap();
    let ours = preprocess::preprocess(&image);
    let expected =
        Array4::<f32>::read_npy(std::fs::File::open(fixtures.join("expected_preprocessed_image.npy")).unwrap())
            .unwrap();
    assert_eq!(expected.shape(), &[1, 3, 224, 224]);
    let diffs: Vec<f32> = ours.iter().zip(expected.iter()).map(|(a, b)| (a - b).abs()).collect();
    let max = diffs.iter().copied().fold(0.0, f32::max);
    let mean = diffs.iter().sum::<f32>() / diffs.len() as f32;
    println!("preprocessing vs CLIP reference: max abs diff {max:.5}, mean abs diff {mean:.6}");
    assert!(mean <= 0.01, "mean abs diff {mean}");
    assert!(max <= 0.05, "max abs diff {max}");
}

#[test]
fn tokenizer_reproduces_reference_ids() {
    let fixture: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(common::repo().join("tests/fixtures/clip_tokenizer.json")).unwrap(),
    )
    .unwrap();
    let tokenizer = TextTokenizer::default();
    let cases = fixture["cases"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for case in cases {
        let text = case["text"].as_str().unwrap();
        let expected: Vec<i64> = case["ids"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
        assert_eq!(tokenizer.tokenize(text), expected, "tokenizing {text:?}");
    }
}

fn demo_images(n: usize) -> Vec<(String, image::RgbImage)> {
    let dir = common::shared_paintings().join("images");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files
        .into_iter()
        .take(n)
        .map(|path| {
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                decode_rgb(&std::fs::read(&path).unwrap(), LIMITS).unwrap(),
            )
        })
        .collect()
}

#[test]
fn batch_inference_equals_one_at_a_time_and_is_normalised() {
    let clip = common::clip();
    let images = demo_images(5);
    let pixels: Vec<f32> = images.iter().flat_map(|(_, image)| preprocess::preprocess(image)).collect();
    let batch = clip.embed_images_blocking(pixels).unwrap();
    assert_eq!(batch.len(), 5);
    for ((_, image), batched) in images.iter().zip(&batch) {
        let single = clip.embed_images_blocking(preprocess::preprocess(image)).unwrap().remove(0);
        let max_diff = single.iter().zip(batched).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        assert!(max_diff < 1e-5, "batch differs from single by {max_diff}");
        let norm = batched.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "norm {norm}");
    }
    let texts = clip.embed_texts_blocking(&["blue sea".into(), "dark night".into()]).unwrap();
    assert_eq!(texts.len(), 2);
    assert!(texts.iter().all(|t| (t.iter().map(|x| x * x).sum::<f32>().sqrt() - 1.0).abs() < 1e-4));
}

#[test]
fn standin_text_tower_ranks_bluest_painting_above_reddest() {
    let clip = common::clip();
    let images = demo_images(usize::MAX);
    // Colour measured straight from the pixels, independently of the model.
    let mean_rgb = |image: &image::RgbImage| {
        let mut sum = [0f64; 3];
        for p in image.pixels() {
            for c in 0..3 {
                sum[c] += f64::from(p[c]);
            }
        }
        sum.map(|s| s / f64::from(image.width() * image.height()))
    };
    let blueness = |rgb: [f64; 3]| rgb[2] - (rgb[0] + rgb[1]) / 2.0;
    let redness = |rgb: [f64; 3]| rgb[0] - (rgb[1] + rgb[2]) / 2.0;
    let colours: Vec<[f64; 3]> = images.iter().map(|(_, image)| mean_rgb(image)).collect();
    let argmax = |score: &dyn Fn([f64; 3]) -> f64| {
        (0..colours.len()).max_by(|&a, &b| score(colours[a]).total_cmp(&score(colours[b]))).unwrap()
    };
    let (bluest, reddest) = (argmax(&blueness), argmax(&redness));
    let embed = |i: usize| clip.embed_images_blocking(preprocess::preprocess(&images[i].1)).unwrap().remove(0);
    let blue = clip.embed_texts_blocking(&["blue".into()]).unwrap().remove(0);
    let red = clip.embed_texts_blocking(&["red".into()]).unwrap().remove(0);
    let (bluest_emb, reddest_emb) = (embed(bluest), embed(reddest));
    println!("bluest {} reddest {}", images[bluest].0, images[reddest].0);
    assert!(cosine(&blue, &bluest_emb) > cosine(&blue, &reddest_emb), "\"blue\" prefers the bluest painting");
    assert!(cosine(&red, &reddest_emb) > cosine(&red, &bluest_emb), "\"red\" prefers the reddest painting");
}
