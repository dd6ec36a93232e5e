//! JPEG 2000 page images (`/JPXDecode`, as archival scanners and PDF/A
//! converters store scans) to grey, with `hayro-jpeg2000` (pure Rust,
//! memory-safe). A large image is decoded at a lower resolution level
//! (JPEG 2000 keeps them: nothing of the full size is computed), so what
//! the decoder holds (four bytes per sample and channel) stays near what
//! the OCR engine takes.

use crate::raster::charge_pixels;
use crate::{ExtractError, Limits};
use hayro_jpeg2000::{ColorSpace, DecodeSettings, DecoderContext, Image};
use image::GrayImage;

/// Most pixels decoded: above, a lower resolution level is taken.
const MAX_DECODED_PIXELS: u64 = 4_500_000;

/// A JPEG 2000 codestream or JP2 file as grey pixels.
pub fn gray(data: &[u8], limits: &Limits) -> Result<GrayImage, ExtractError> {
    let bad = |e: hayro_jpeg2000::DecodeError| {
        ExtractError::Malformed(format!("the page's JPEG 2000 image: {e}"))
    };
    let full = Image::new(data, &DecodeSettings::default()).map_err(bad)?;
    let (w, h) = (u64::from(full.width()), u64::from(full.height()));
    let pixels = w * h;
    let settings = match pixels > MAX_DECODED_PIXELS {
        // Asking for half the fitting size makes the decoder skip at least
        // as many levels as fit (it skips whole powers of two).
        true => {
            let scale = (MAX_DECODED_PIXELS as f64 / pixels as f64).sqrt() / 2.0;
            let target = ((w as f64 * scale) as u32).max(1);
            DecodeSettings {
                target_resolution: Some((target, ((h as f64 * scale) as u32).max(1))),
                ..DecodeSettings::default()
            }
        }
        false => DecodeSettings::default(),
    };
    let image = Image::new(data, &settings).map_err(bad)?;
    let (width, height) = (image.width(), image.height());
    let channels = image.color_space().num_channels() + u8::from(image.has_alpha());
    charge_pixels(width, height, limits)?;
    // The decoder's own buffers: a float per sample and channel.
    let held = u64::from(width) * u64::from(height) * u64::from(channels) * 4;
    limits.take_inflated(held, "the page's JPEG 2000 image")?;
    let mut ctx = DecoderContext::default();
    let decoded = image.decode(&mut ctx).map_err(bad)?;
    let samples = decoded.data_u8();
    let luma = |px: &[u8]| -> u8 {
        match (image.color_space(), px) {
            (ColorSpace::CMYK, [c, m, y, k, ..]) => {
                let ink = 0.3 * f32::from(*c) + 0.59 * f32::from(*m) + 0.11 * f32::from(*y);
                (255.0 - (ink + f32::from(*k)).min(255.0)) as u8
            }
            (_, [r, g, b, ..]) if channels >= 3 => {
                (0.299 * f32::from(*r) + 0.587 * f32::from(*g) + 0.114 * f32::from(*b)) as u8
            }
            (_, [v, ..]) => *v,
            _ => 255,
        }
    };
    let step = usize::from(channels.max(1));
    let grey: Vec<u8> = samples.chunks_exact(step).map(luma).collect();
    GrayImage::from_raw(width, height, grey).ok_or_else(|| {
        ExtractError::Malformed("the page's JPEG 2000 image has fewer samples than pixels".into())
    })
}
