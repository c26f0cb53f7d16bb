//! Untrusted image bytes in, checked pixels out. Dimensions are read from the header and checked
//! before any pixel buffer is allocated, so a few-KB "PNG bomb" that claims 30000x30000 pixels
//! is refused without allocating gigabytes.

use std::io::Cursor;

use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, RgbImage};

use crate::server::http::locale::message;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageRejected {
    /// A form came without its image field.
    #[error("no image was sent")]
    Missing,
    #[error("the file is empty")]
    Empty,
    #[error("the file is {size} bytes; the limit is {limit} bytes")]
    TooLarge { size: u64, limit: u64 },
    #[error("the file is not a JPEG, PNG or WebP image")]
    NotAnImage,
    #[error("the image is {width}x{height} pixels; the limit is {limit} pixels")]
    TooManyPixels { width: u32, height: u32, limit: u64 },
    #[error("the image is {width} by {height}; its long side may be at most {MAX_ASPECT_RATIO} times its short side")]
    ExtremeAspect { width: u32, height: u32 },
    #[error("the image is damaged or truncated")]
    Corrupt,
}

impl ImageRejected {
    /// Why, for the person who sent the image, in their language (the `Display` stays English
    /// for logs and the CLI).
    pub fn message(&self) -> String {
        match *self {
            Self::Missing => message!(image.missing),
            Self::Empty => message!(image.empty),
            Self::TooLarge { size, limit } => message!(image.too_large, size, limit),
            Self::NotAnImage => message!(image.not_an_image),
            Self::TooManyPixels { width, height, limit } => message!(image.too_many_pixels, width, height, limit),
            Self::ExtremeAspect { width, height } => {
                message!(image.extreme_aspect, width, height, ratio = MAX_ASPECT_RATIO)
            }
            Self::Corrupt => message!(image.corrupt),
        }
    }
}

/// Runs `work` (decoding an image and what follows) on the blocking pool once one of the
/// process's decode slots is free: a decode may take hundreds of MB, so room uploads, imports and
/// re-embeds together decode at most as many images at once as there are cores (4 at most).
pub async fn with_decode_slot<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, tokio::task::JoinError> {
    static SLOTS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    let slots = SLOTS.get_or_init(|| {
        tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get()).min(MAX_DECODES))
    });
    let _slot = slots.acquire().await.expect("the semaphore is never closed");
    tokio::task::spawn_blocking(work).await
}

/// Decodes at once, whatever the number of cores.
pub const MAX_DECODES: usize = 4;

/// The longest side over the shortest that an image may have: room for the longest handscrolls
/// (A Thousand Li of Rivers and Mountains is about 23 to 1), none for strips that only exist to
/// break resizing.
pub const MAX_ASPECT_RATIO: u32 = 100;

#[derive(Debug, Clone, Copy)]
pub struct ImageLimits {
    pub max_bytes: u64,
    pub max_pixels: u64,
}

/// Decodes JPEG, PNG or WebP bytes (sniffed from the content, never from a name or header) into
/// RGB pixels, enforcing `limits`.
pub fn decode_rgb(bytes: &[u8], limits: ImageLimits) -> Result<RgbImage, ImageRejected> {
    let size = bytes.len() as u64;
    if size == 0 {
        return Err(ImageRejected::Empty);
    }
    if size > limits.max_bytes {
        return Err(ImageRejected::TooLarge { size, limit: limits.max_bytes });
    }
    let format = image::guess_format(bytes).map_err(|_| ImageRejected::NotAnImage)?;
    if !matches!(format, ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP) {
        return Err(ImageRejected::NotAnImage);
    }
    let (width, height) =
        ImageReader::with_format(Cursor::new(bytes), format).into_dimensions().map_err(|_| ImageRejected::Corrupt)?;
    if width == 0 || height == 0 {
        return Err(ImageRejected::Corrupt);
    }
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(ImageRejected::TooManyPixels { width, height, limit: limits.max_pixels });
    }
    if u64::from(width.max(height)) > u64::from(width.min(height)) * u64::from(MAX_ASPECT_RATIO) {
        return Err(ImageRejected::ExtremeAspect { width, height });
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut decoder_limits = image::Limits::default();
    // Room for the decoded image at 16 bits per channel with alpha, plus decoder scratch.
    decoder_limits.max_alloc = Some(limits.max_pixels.saturating_mul(8).saturating_add(64 << 20));
    reader.limits(decoder_limits);
    let mut decoder = reader.into_decoder().map_err(|_| ImageRejected::Corrupt)?;
    // Phones store photos sideways and say so in EXIF; turn the pixels upright, because the
    // EXIF itself is dropped when we re-encode.
    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(|_| ImageRejected::Corrupt)?;
    image.apply_orientation(orientation);
    if format == ImageFormat::Jpeg && !jpeg_is_complete(bytes) {
        // JPEG decoders pad a truncated scan with grey rather than failing; we refuse it.
        return Err(ImageRejected::Corrupt);
    }
    Ok(image.into_rgb8())
}

/// A complete JPEG ends with the EOI marker (trailing padding after it is tolerated).
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let tail = &bytes[bytes.len().saturating_sub(1024)..];
    tail.windows(2).any(|pair| pair == [0xFF, 0xD9])
}

/// An encoded JPEG rendition and its size.
#[derive(Debug, Clone)]
pub struct Rendition {
    pub jpeg: bytes::Bytes,
    pub width: u32,
    pub height: u32,
}

/// One size of a painting for the web: the same pixels as JPEG and as lossy WebP.
#[derive(Debug, Clone)]
pub struct WebRendition {
    pub jpeg: bytes::Bytes,
    pub webp: bytes::Bytes,
    pub width: u32,
    pub height: u32,
}

/// Scales `image` to fit `long_side` (never upscaling), keeping its aspect ratio, as JPEG.
pub fn jpeg_rendition(image: &RgbImage, long_side: u32, quality: u8) -> Rendition {
    let scaled = scale(image, fit_within(image.width(), image.height(), u32::MAX, long_side));
    Rendition { jpeg: encode_jpeg(&scaled, quality), width: scaled.width(), height: scaled.height() }
}

/// Scales `image` to `size` (one [`fit_within`] gave) and encodes it as JPEG and as WebP, each at
/// its own quality (the scales differ: WebP 75 looks about like JPEG 82).
pub fn web_rendition(image: &RgbImage, size: (u32, u32), jpeg_quality: u8, webp_quality: u8) -> WebRendition {
    let scaled = scale(image, size);
    let webp =
        webp::Encoder::from_rgb(scaled.as_raw(), scaled.width(), scaled.height()).encode(f32::from(webp_quality));
    WebRendition {
        jpeg: encode_jpeg(&scaled, jpeg_quality),
        webp: bytes::Bytes::copy_from_slice(&webp),
        width: scaled.width(),
        height: scaled.height(),
    }
}

fn scale(image: &RgbImage, (width, height): (u32, u32)) -> std::borrow::Cow<'_, RgbImage> {
    if (width, height) == image.dimensions() {
        return std::borrow::Cow::Borrowed(image);
    }
    let mut target = RgbImage::new(width, height);
    Resizer::new()
        .resize(image, &mut target, &ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3)))
        .expect("source and target are both RGB8");
    std::borrow::Cow::Owned(target)
}

fn encode_jpeg(image: &RgbImage, quality: u8) -> bytes::Bytes {
    let mut jpeg = Vec::with_capacity((image.width() * image.height() / 4) as usize);
    JpegEncoder::new_with_quality(&mut jpeg, quality)
        .encode_image(image)
        .expect("encoding RGB8 into memory cannot fail");
    jpeg.into()
}

/// The size `width` x `height` takes when scaled, keeping its aspect ratio, to at most
/// `max_width` wide and `long_side` on its longer side; never upscaled.
pub fn fit_within(width: u32, height: u32, max_width: u32, long_side: u32) -> (u32, u32) {
    let scale = (f64::from(max_width) / f64::from(width)).min(f64::from(long_side) / f64::from(width.max(height)));
    if scale >= 1.0 {
        return (width, height);
    }
    let scaled = |side: u32| ((f64::from(side) * scale).round() as u32).max(1);
    (scaled(width), scaled(height))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn no_more_decodes_run_at_once_than_there_are_slots() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let tasks: Vec<_> = (0..3 * MAX_DECODES)
            .map(|_| {
                let (running, most) = (running.clone(), most.clone());
                tokio::spawn(with_decode_slot(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(30));
                    running.fetch_sub(1, Ordering::SeqCst);
                }))
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        let slots = std::thread::available_parallelism().map_or(2, |n| n.get()).min(MAX_DECODES);
        assert!(
            (1..=slots).contains(&most.load(Ordering::SeqCst)),
            "{} at once, {slots} slots",
            most.load(Ordering::SeqCst)
        );
    }

    const LIMITS: ImageLimits = ImageLimits { max_bytes: 10 << 20, max_pixels: 50_000_000 };

    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut out = Vec::new();
        DynamicImage::ImageRgb8(RgbImage::from_pixel(width, height, image::Rgb([10, 200, 30])))
            .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
            .unwrap();
        out
    }

    fn jpeg(width: u32, height: u32) -> Vec<u8> {
        jpeg_rendition(&RgbImage::from_fn(width, height, |x, y| image::Rgb([x as u8, y as u8, 99])), 4096, 90)
            .jpeg
            .to_vec()
    }

    /// A PNG whose header claims `width` x `height` but carries almost no data: a decompression bomb
    /// in spirit, a few hundred bytes on disk.
    fn png_bomb(width: u32, height: u32) -> Vec<u8> {
        fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
            out.extend_from_slice(&(data.len() as u32).to_be_bytes());
            let start = out.len();
            out.extend_from_slice(kind);
            out.extend_from_slice(data);
            let crc = crc32fast::hash(&out[start..]);
            out.extend_from_slice(&crc.to_be_bytes());
        }
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&width.to_be_bytes());
        ihdr.extend_from_slice(&height.to_be_bytes());
        ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
        chunk(&mut out, b"IHDR", &ihdr);
        chunk(&mut out, b"IDAT", &[0x78, 0x9c, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01]);
        chunk(&mut out, b"IEND", &[]);
        out
    }

    #[test]
    fn extreme_shapes_are_refused_before_decoding_and_resizing_never_panics() {
        // Inside the pixel limit, but 19,173,962 to 1: it used to overflow the resize and panic.
        assert!(matches!(
            decode_rgb(&png_bomb(19_173_962, 1), LIMITS),
            Err(ImageRejected::ExtremeAspect { width: 19_173_962, height: 1 })
        ));
        assert!(matches!(decode_rgb(&png(101, 1), LIMITS), Err(ImageRejected::ExtremeAspect { .. })));
        assert!(matches!(decode_rgb(&png(1, 101), LIMITS), Err(ImageRejected::ExtremeAspect { .. })));
        assert!(decode_rgb(&png(100, 1), LIMITS).is_ok(), "a handscroll's shape is fine");
        // The preprocessing itself holds up even for what decoding now refuses.
        for (width, height) in [(19_173_962, 1), (1, 40_000), (300, 7)] {
            let tensor = crate::server::infra::clip::preprocess::preprocess(&RgbImage::new(width, height));
            assert!(tensor.iter().all(|v| v.is_finite()), "{width}x{height}");
        }
    }

    #[test]
    fn accepts_png_and_jpeg() {
        assert_eq!(decode_rgb(&png(30, 20), LIMITS).unwrap().dimensions(), (30, 20));
        assert_eq!(decode_rgb(&jpeg(64, 48), LIMITS).unwrap().dimensions(), (64, 48));
    }

    #[test]
    fn rejects_empty_and_non_images() {
        assert_eq!(decode_rgb(b"", LIMITS), Err(ImageRejected::Empty));
        assert_eq!(decode_rgb(b"GIF89a not what we sell", LIMITS), Err(ImageRejected::NotAnImage));
        assert_eq!(decode_rgb(b"<html>hello</html>", LIMITS), Err(ImageRejected::NotAnImage));
    }

    #[test]
    fn rejects_truncated_files() {
        let jpeg = jpeg(256, 256);
        assert_eq!(decode_rgb(&jpeg[..jpeg.len() / 2], LIMITS), Err(ImageRejected::Corrupt));
        let png = png(256, 256);
        assert_eq!(decode_rgb(&png[..png.len() - 40], LIMITS), Err(ImageRejected::Corrupt));
    }

    #[test]
    fn rejects_oversized_files_before_decoding() {
        let limits = ImageLimits { max_bytes: 100, ..LIMITS };
        assert!(matches!(decode_rgb(&png(64, 64), limits), Err(ImageRejected::TooLarge { limit: 100, .. })));
    }

    #[test]
    fn rejects_pixel_bombs_from_the_header() {
        let bomb = png_bomb(30_000, 30_000);
        assert!(bomb.len() < 4096, "the bomb is small on disk: {} bytes", bomb.len());
        assert_eq!(
            decode_rgb(&bomb, LIMITS),
            Err(ImageRejected::TooManyPixels { width: 30_000, height: 30_000, limit: LIMITS.max_pixels })
        );
    }

    #[test]
    fn renditions_keep_aspect_and_never_upscale() {
        let image = RgbImage::new(1200, 800);
        let thumb = jpeg_rendition(&image, 600, 80);
        assert_eq!((thumb.width, thumb.height), (600, 400));
        let small = jpeg_rendition(&RgbImage::new(300, 500), 600, 80);
        assert_eq!((small.width, small.height), (300, 500));
        assert!(decode_rgb(&thumb.jpeg, LIMITS).is_ok());
    }

    #[test]
    fn web_renditions_carry_the_same_size_as_jpeg_and_as_webp() {
        let image = RgbImage::from_fn(900, 600, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 128]));
        let size = fit_within(900, 600, 300, u32::MAX);
        assert_eq!(fit_within(600, 900, 300, 600), (300, 450), "the width binds");
        assert_eq!(fit_within(600, 900, 500, 600), (400, 600), "the long side binds");
        let both = web_rendition(&image, size, 82, 75);
        assert_eq!((both.width, both.height), (300, 200));
        for (bytes, format) in [(&both.jpeg, ImageFormat::Jpeg), (&both.webp, ImageFormat::WebP)] {
            assert_eq!(image::guess_format(bytes).unwrap(), format);
            assert_eq!(decode_rgb(bytes, LIMITS).unwrap().dimensions(), (300, 200));
        }
    }
}
