//! CLIP's image preprocessing: RGB, bicubic resize of the shortest side to 224 (long side
//! truncated, as torchvision does), centre crop 224x224, scale to [0,1], subtract CLIP's mean,
//! divide by its std, channels first.

use fast_image_resize::images::Image;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::RgbImage;

pub const SIZE: u32 = 224;
pub const PIXELS: usize = (SIZE * SIZE) as usize;
/// Floats per preprocessed image: 3 x 224 x 224.
pub const TENSOR_LEN: usize = 3 * PIXELS;

#[allow(clippy::excessive_precision, reason = "CLIP's published constants, digit for digit")]
const MEAN: [f32; 3] = [0.481_454_66, 0.457_827_5, 0.408_210_73];
#[allow(clippy::excessive_precision, reason = "CLIP's published constants, digit for digit")]
const STD: [f32; 3] = [0.268_629_54, 0.261_302_58, 0.275_777_11];

/// Writes the CLIP input tensor for `image` into `out` (length `TENSOR_LEN`).
///
/// Resizing and cropping happen in one pass: the crop box is mapped back into the source, which
/// is the same arithmetic as resizing the whole image and cropping after, at a fraction of the cost.
pub fn preprocess_into(image: &RgbImage, resizer: &mut Resizer, out: &mut [f32]) {
    assert_eq!(out.len(), TENSOR_LEN, "output must hold 3x224x224 floats");
    let (width, height) = image.dimensions();
    // The short side scales to SIZE; the long side's size saturates instead of wrapping, and is
    // never below SIZE, so the centre crop always fits (decoding already refuses extreme shapes).
    let long_side = |long: u32, short: u32| {
        u32::try_from(u64::from(SIZE) * u64::from(long) / u64::from(short.max(1))).unwrap_or(u32::MAX).max(SIZE)
    };
    let (resized_w, resized_h) =
        if height < width { (long_side(width, height), SIZE) } else { (SIZE, long_side(height, width)) };
    let scale_x = f64::from(width) / f64::from(resized_w);
    let scale_y = f64::from(height) / f64::from(resized_h);
    let left = f64::from((resized_w - SIZE) / 2) * scale_x;
    let top = f64::from((resized_h - SIZE) / 2) * scale_y;
    let mut cropped = Image::new(SIZE, SIZE, PixelType::U8x3);
    resizer
        .resize(
            image,
            &mut cropped,
            &ResizeOptions::new()
                .resize_alg(ResizeAlg::Convolution(FilterType::CatmullRom))
                // Clamped: rounding can push the box a hair past the edge.
                .crop(
                    left,
                    top,
                    (f64::from(SIZE) * scale_x).min(f64::from(width) - left),
                    (f64::from(SIZE) * scale_y).min(f64::from(height) - top),
                ),
        )
        .expect("source and target are both RGB8");
    let (red, rest) = out.split_at_mut(PIXELS);
    let (green, blue) = rest.split_at_mut(PIXELS);
    for (i, rgb) in cropped.buffer().chunks_exact(3).enumerate() {
        red[i] = (f32::from(rgb[0]) / 255.0 - MEAN[0]) / STD[0];
        green[i] = (f32::from(rgb[1]) / 255.0 - MEAN[1]) / STD[1];
        blue[i] = (f32::from(rgb[2]) / 255.0 - MEAN[2]) / STD[2];
    }
}

pub fn preprocess(image: &RgbImage) -> Vec<f32> {
    let mut out = vec![0.0; TENSOR_LEN];
    preprocess_into(image, &mut Resizer::new(), &mut out);
    out
}
