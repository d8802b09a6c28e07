//! Writes the small example files of `FORMAT.md` into `data/` (deterministic; rerun to refresh).
//!
//! Run: `cargo run --example format_examples`

use arrstore::{Layout, Scalar, WriteOptions};
use ndarray::{Array2, Array3};

fn main() -> arrstore::Result<()> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    std::fs::create_dir_all(&dir)?;
    let opts = WriteOptions::default().with_overwrite(true);

    // Dense, int64 values 10^12 + (0..200): stored as uint8 with an offset of 10^12, portable
    // (no predictive transform: Parquet readers see the values less the offset).
    let offset = Array2::<i64>::from_shape_fn((20, 10), |(i, j)| 1_000_000_000_000 + (i * 10 + j) as i64);
    arrstore::write_array(
        dir.join("example-dense-offset.parquet"),
        &offset,
        &opts.clone().with_layout(Layout::Dense).with_portable(true),
    )?;

    // Dense, a 48x64 RGB uint8 image (smooth shading, a disc, a little texture): stored as
    // residuals of a predictive transform (format 2.0).
    let image = Array3::<u8>::from_shape_fn((48, 64, 3), |(i, j, c)| {
        let (y, x) = (i as f64, j as f64);
        let disc = if (y - 24.0).powi(2) + (x - 40.0).powi(2) < 150.0 {
            60.0
        } else {
            0.0
        };
        let texture = ((i * 7 + j * 13 + c * 5) % 11) as f64;
        (40.0 + 2.0 * x + 1.5 * y + disc + texture + 20.0 * c as f64).min(255.0) as u8
    });
    arrstore::write_array(
        dir.join("example-dense-predicted.parquet"),
        &image,
        &opts.clone().with_layout(Layout::Dense),
    )?;

    // Sparse 2-D float64, 64x64, about 10% of cells from a few distinct values.
    let stars = Array2::<f64>::from_shape_fn((64, 64), |(i, j)| {
        let h = (i * 64 + j).wrapping_mul(2_654_435_761) % 1000;
        if h < 100 {
            [0.25, 0.5, 0.75, 1.0][h % 4]
        } else {
            0.0
        }
    });
    arrstore::write_array(
        dir.join("example-sparse-2d.parquet"),
        &stars,
        &opts.clone().with_layout(Layout::Sparse),
    )?;

    // Runs, 2-D int64 labels 48x64: three classes in bands whose edges shift row by row.
    let labels = Array2::<i64>::from_shape_fn((48, 64), |(i, j)| ((j + i / 3) / 24 % 3) as i64);
    arrstore::write_array(
        dir.join("example-runs-2d.parquet"),
        &labels,
        &opts.clone().with_layout(Layout::Runs),
    )?;

    // Sparse 3-D float32 with NaN as the fill value.
    let cube = Array3::<f32>::from_shape_fn((4, 5, 6), |(i, j, k)| {
        if (i + j + k) % 7 == 0 {
            (i * 100 + j * 10 + k) as f32 / 8.0
        } else {
            f32::NAN
        }
    });
    arrstore::write_array(
        dir.join("example-sparse-3d-nan-fill.parquet"),
        &cube,
        &opts
            .with_layout(Layout::Sparse)
            .with_fill(Scalar::Float(f64::NAN)),
    )?;
    // A dataset (dataset format 1.0) of int64 rows of 3 grown in two appends: counts stored as
    // uint8, then values past 2^40 stored as uint8 less an offset of 2^40.
    let dataset = dir.join("example-dataset");
    if dataset.exists() {
        std::fs::remove_dir_all(&dataset)?;
    }
    let mut w =
        arrstore::dataset::ArrayWriter::new(&dataset, arrstore::DType::I64, &[3], WriteOptions::default())?;
    w.write_chunk(&Array2::<i64>::from_shape_fn((4, 3), |(i, j)| (i * 3 + j) as i64))?;
    w.write_chunk(&Array2::<i64>::from_shape_fn((2, 3), |(i, j)| {
        (1i64 << 40) + (i * 3 + j) as i64
    }))?;
    w.finish()?;
    println!("wrote the FORMAT.md examples into {}", dir.display());
    Ok(())
}
