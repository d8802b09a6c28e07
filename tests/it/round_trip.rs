//! Round trips through one generic helper, [`check`]: every dtype, every requested layout,
//! 0-d, empty and up to 6-d shapes, C and Fortran order, strided and transposed views, values
//! at every narrowing boundary, fill values; then the narrowing decisions, the narrowed read,
//! typed read errors, the path wrappers and property tests.

use arrstore::{
    read_array, read_array_from, write_array, write_array_to, write_coo_to, write_dyn_to, ArrayFile, Coo,
    DType, DynArray, Element, Error, Layout, Order, Scalar, StoredLayout, WriteOptions, WriteSummary,
};
use bytes::Bytes;
use ndarray::{
    Array1, Array2, ArrayD, ArrayView, ArrayViewD, Dimension, Ix0, Ix1, Ix2, Ix3, Ix6, IxDyn, ShapeBuilder,
    Slice,
};
use proptest::prelude::*;

const LAYOUTS: [Layout; 4] = [Layout::Auto, Layout::Dense, Layout::Sparse, Layout::Runs];

/// The bits of every element, in logical (C) order whatever the memory layout.
fn bits<'a, T: Element>(values: impl IntoIterator<Item = &'a T>) -> Vec<u64> {
    values.into_iter().map(|v| v.to_bits()).collect()
}

/// The fill value `opts` asks for, as a `T` (0 or `false` when none).
fn fill_of<T: Element>(opts: &WriteOptions) -> T {
    opts.fill().map_or_else(T::default, |s| {
        s.to_element::<T>()
            .unwrap_or_else(|| panic!("test bug: fill {s} is not a {}", T::DTYPE))
    })
}

/// How the input's memory is laid out, and what a read must give back.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Memory {
    C,
    F,
    /// Neither: a read gives C order.
    Strided,
}

impl Memory {
    fn of<T, D: Dimension>(a: &ArrayView<'_, T, D>) -> Memory {
        if a.is_standard_layout() {
            Memory::C
        } else if a.t().is_standard_layout() {
            Memory::F
        } else {
            Memory::Strided
        }
    }

    fn assert_holds<T, D: Dimension>(self, back: &ArrayView<'_, T, D>, ctx: &str) {
        match self {
            Memory::C | Memory::Strided => {
                assert!(
                    back.is_standard_layout(),
                    "{ctx}: read back in strides {:?}, expected C",
                    back.strides()
                )
            }
            Memory::F => {
                assert!(
                    back.t().is_standard_layout(),
                    "{ctx}: read back in strides {:?}, expected F",
                    back.strides()
                );
                assert_eq!(Order::of(back), Order::F, "{ctx}");
            }
        }
    }
}

/// Writes `a` to memory with `opts`, reads it back every way (typed, dynamic, COO, narrowed),
/// and asserts dtype, shape, bit-identical elements and memory order. Returns the summary.
fn check<T: Element, D: Dimension>(a: ArrayView<'_, T, D>, opts: &WriteOptions) -> WriteSummary {
    let ctx = format!(
        "{} shape {:?} strides {:?} layout {:?} fill {:?}",
        T::DTYPE,
        a.shape(),
        a.strides(),
        opts.layout(),
        opts.fill()
    );
    let order = Order::of(&a);
    let memory = Memory::of(&a);
    let want = bits(&a);
    let fill = fill_of::<T>(opts);
    let nnz = want.iter().filter(|&&b| b != fill.to_bits()).count();

    let mut buf = Vec::new();
    let summary = write_array_to(&mut buf, &a, opts).unwrap_or_else(|e| panic!("{ctx}: write: {e}"));
    assert_eq!(summary.file_bytes, buf.len() as u64, "{ctx}");
    let meta = &summary.meta;
    assert_eq!(meta.dtype, T::DTYPE, "{ctx}");
    assert_eq!(
        meta.shape,
        a.shape().iter().map(|&d| d as u64).collect::<Vec<_>>(),
        "{ctx}"
    );
    assert_eq!(meta.order, order, "{ctx}");
    assert_eq!(meta.nnz, nnz as u64, "{ctx}");
    match opts.layout() {
        Layout::Dense => assert_eq!(
            (meta.layout, meta.estimates),
            (StoredLayout::Dense, None),
            "{ctx}"
        ),
        Layout::Sparse => assert_eq!(
            (meta.layout, meta.estimates),
            (StoredLayout::Sparse, None),
            "{ctx}"
        ),
        Layout::Runs => assert_eq!((meta.layout, meta.estimates), (StoredLayout::Runs, None), "{ctx}"),
        Layout::Auto => assert!(
            meta.estimates.is_some(),
            "{ctx}: an automatic choice records its estimates"
        ),
    }
    if meta.layout == StoredLayout::Sparse {
        assert_eq!(meta.fill_bits, Some(format!("{:#018x}", fill.to_bits())), "{ctx}");
        assert_eq!(meta.index_columns().len(), a.ndim(), "{ctx}");
    }
    let file = Bytes::from(buf);

    // Typed read, with the caller's dtype and rank.
    let back = read_array_from::<T, D, _>(file.clone()).unwrap_or_else(|e| panic!("{ctx}: read: {e}"));
    assert_eq!(back.shape(), a.shape(), "{ctx}");
    assert_eq!(bits(&back), want, "{ctx}: typed read");
    memory.assert_holds(&back.view(), &format!("{ctx}: typed read"));

    // Dynamic read.
    let f = ArrayFile::new(file.clone()).unwrap_or_else(|e| panic!("{ctx}: open: {e}"));
    assert_eq!(
        f.meta(),
        meta,
        "{ctx}: the file holds the metadata the writer reported"
    );
    let d = f.read_dyn().unwrap_or_else(|e| panic!("{ctx}: read_dyn: {e}"));
    assert_eq!(d.dtype(), T::DTYPE, "{ctx}");
    assert_eq!(d.shape(), a.shape(), "{ctx}");
    assert_eq!(d.order(), order, "{ctx}");
    assert!(
        d.bit_eq(&DynArray::from(a.to_owned().into_dyn())),
        "{ctx}: read_dyn is not bit-identical"
    );
    let d: ArrayD<T> = d
        .into_typed()
        .unwrap_or_else(|d| panic!("{ctx}: read_dyn gave {}", d.dtype()));
    assert_eq!(bits(&d), want, "{ctx}: dynamic read");
    memory.assert_holds(&d.view(), &format!("{ctx}: dynamic read"));

    // COO read, densified.
    let coo = ArrayFile::new(file.clone())
        .and_then(|f| f.read_coo::<T>())
        .unwrap_or_else(|e| panic!("{ctx}: read_coo: {e}"));
    assert_eq!(coo.shape(), a.shape(), "{ctx}");
    assert_eq!(coo.nnz(), nnz, "{ctx}");
    assert_eq!(coo.fill().to_bits(), fill.to_bits(), "{ctx}");
    assert!(
        coo.values().iter().all(|v| v.to_bits() != fill.to_bits()),
        "{ctx}: COO lists a fill cell"
    );
    assert_eq!(bits(&coo.to_dense()), want, "{ctx}: COO read");

    // Narrowed read: the stored type, and back to the exact original.
    let column = meta.value_column();
    match ArrayFile::new(file).and_then(|f| f.read_narrowed()) {
        Ok(n) => {
            assert_eq!(n.array.dtype(), column.narrowing().stored, "{ctx}");
            assert_eq!(n.offset, column.offset, "{ctx}");
            assert_eq!(n.scale, column.scale, "{ctx}");
            assert_eq!(n.dtype, T::DTYPE, "{ctx}");
            assert_eq!(n.array.shape(), a.shape(), "{ctx}");
            let w = n.widen().unwrap_or_else(|e| panic!("{ctx}: widen: {e}"));
            assert!(
                w.bit_eq(&DynArray::from(a.to_owned().into_dyn())),
                "{ctx}: widen is not exact"
            );
            assert_eq!(n.array.order(), order, "{ctx}: narrowed order");
            assert_eq!(w.order(), order, "{ctx}: widened order");
        }
        // Documented: a sparse fill with no form in the stored type (NaN as an integer, or below
        // the offset) cannot be read narrowed.
        Err(e) => {
            assert_eq!(meta.layout, StoredLayout::Sparse, "{ctx}: read_narrowed: {e}");
            assert!(
                e.to_string().contains("read the original dtype instead"),
                "{ctx}: {e}"
            );
        }
    }
    summary
}

/// [`check`] with the rank as a type (`Ix0` .. `Ix6`) where there is one.
fn check_ranked<T: Element>(a: ArrayViewD<'_, T>, opts: &WriteOptions) -> WriteSummary {
    fn fixed<T: Element, D: Dimension>(a: ArrayViewD<'_, T>, opts: &WriteOptions) -> WriteSummary {
        check(a.into_dimensionality::<D>().expect("rank matches"), opts)
    }
    match a.ndim() {
        0 => fixed::<T, Ix0>(a, opts),
        1 => fixed::<T, Ix1>(a, opts),
        2 => fixed::<T, Ix2>(a, opts),
        3 => fixed::<T, Ix3>(a, opts),
        6 => fixed::<T, Ix6>(a, opts),
        _ => check(a, opts),
    }
}

/// The element types under test, with values at their narrowing boundaries.
trait Probe: Element {
    /// Values this type holds at every narrowing boundary (and specials for floats).
    fn boundaries() -> Vec<Self>;
    /// A fill value other than the default, held exactly by this type.
    fn other_fill() -> Scalar;
    /// The least and the greatest value.
    fn extremes() -> (Self, Self);
}

/// Integer boundaries of every narrower type, and one past them.
const INT_BOUNDARIES: [i128; 30] = [
    0,
    1,
    -1,
    127,
    128,
    -128,
    -129,
    255,
    256,
    32_767,
    32_768,
    -32_768,
    -32_769,
    65_535,
    65_536,
    i32::MAX as i128,
    i32::MAX as i128 + 1,
    i32::MIN as i128,
    i32::MIN as i128 - 1,
    u32::MAX as i128,
    u32::MAX as i128 + 1,
    i64::MAX as i128,
    i64::MAX as i128 + 1,
    i64::MIN as i128,
    u64::MAX as i128,
    1_000_000_000_000,
    1_000_000_000_200,
    30_000,
    30_200,
    1_000_000_000,
];

macro_rules! int_probe {
    ($($t:ty),*) => {$(
        impl Probe for $t {
            fn boundaries() -> Vec<Self> {
                let own = [
                    i128::from(<$t>::MIN),
                    i128::from(<$t>::MIN) + 1,
                    i128::from(<$t>::MAX) - 1,
                    i128::from(<$t>::MAX),
                ];
                let mut v: Vec<$t> =
                    INT_BOUNDARIES.iter().chain(&own).filter_map(|&i| <$t>::try_from(i).ok()).collect();
                v.dedup();
                v
            }
            fn other_fill() -> Scalar {
                Scalar::Int(7)
            }
            fn extremes() -> (Self, Self) {
                (<$t>::MIN, <$t>::MAX)
            }
        }
    )*};
}
int_probe!(i8, i16, i32, i64, u8, u16, u32, u64);

impl Probe for bool {
    fn boundaries() -> Vec<Self> {
        vec![false, true]
    }
    fn other_fill() -> Scalar {
        Scalar::Bool(true)
    }
    fn extremes() -> (Self, Self) {
        (false, true)
    }
}

impl Probe for f64 {
    fn boundaries() -> Vec<Self> {
        let two63 = 9_223_372_036_854_775_808.0;
        let mut v = vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.5,
            0.1,
            f64::NAN,
            f64::from_bits(0x7ff0_0000_0000_0001), // signalling, payload too low for f32
            f64::from_bits(0x7ff8_0000_2000_0000), // quiet, payload fits f32
            f64::from_bits(0xfff8_0000_0000_0000), // negative quiet NaN
            f64::from_bits(0x7ff0_0000_2000_0000), // signalling, payload fits f32
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::from_bits(1), // smallest subnormal
            f64::from(f32::from_bits(1)),
            f64::MIN_POSITIVE,
            f64::MAX,
            f64::MIN,
            f64::EPSILON,
            f64::from(f32::MAX),
            9_007_199_254_740_992.0, // 2^53
            9_007_199_254_740_994.0,
            -two63,
            two63,
            1e300,
            4095.0,
            65_535.0,
            65_536.0,
            1e12,
            1e12 + 200.0,
        ];
        v.extend(INT_BOUNDARIES.iter().map(|&i| i as f64)); // rounds, on purpose: more floats
        v
    }
    fn other_fill() -> Scalar {
        Scalar::Float(f64::NAN)
    }
    fn extremes() -> (Self, Self) {
        (f64::NEG_INFINITY, f64::INFINITY)
    }
}

impl Probe for f32 {
    fn boundaries() -> Vec<Self> {
        vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.5,
            0.1,
            f32::NAN,
            f32::from_bits(0x7f80_0001), // signalling
            f32::from_bits(0xffc0_0001),
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::from_bits(1), // smallest subnormal
            f32::MIN_POSITIVE,
            f32::MAX,
            f32::MIN,
            16_777_216.0, // 2^24
            16_777_218.0,
            -129.0,
            127.0,
            255.0,
            256.0,
            65_535.0,
            65_536.0,
            -32_769.0,
        ]
    }
    fn other_fill() -> Scalar {
        Scalar::Float(f64::NAN)
    }
    fn extremes() -> (Self, Self) {
        (f32::NEG_INFINITY, f32::INFINITY)
    }
}

/// A mix of boundary values and fill cells: cell `i` of a flat array.
fn pattern<T: Probe>(n: usize, fill: T) -> Vec<T> {
    let b = T::boundaries();
    (0..n)
        .map(|i| if i % 3 == 1 { fill } else { b[(i * 7) % b.len()] })
        .collect()
}

const SHAPES: [&[usize]; 8] = [
    &[],
    &[0],
    &[3, 0],
    &[0, 2, 5],
    &[7],
    &[4, 5],
    &[2, 3, 4],
    &[2, 1, 3, 2, 2, 3],
];

/// Every dtype × layout × fill × shape × memory layout (C, Fortran, transposed, strided).
fn matrix<T: Probe>() {
    for layout in LAYOUTS {
        for fill in [None, Some(T::other_fill())] {
            let mut opts = WriteOptions::default().with_layout(layout);
            if let Some(f) = fill {
                opts = opts.with_fill(f);
            }
            for shape in SHAPES {
                let n = shape.iter().product();
                let c = ArrayD::from_shape_vec(IxDyn(shape), pattern::<T>(n, fill_of(&opts))).unwrap();
                let mut f = ArrayD::from_elem(IxDyn(shape).f(), T::default());
                f.assign(&c);
                assert_eq!(bits(&f), bits(&c));
                let strided = c.slice_each_axis(|ax| {
                    let step = if ax.axis.index() % 2 == 0 { 2 } else { -1 };
                    Slice::new(0, None, step)
                });
                for view in [c.view(), f.view(), c.t(), strided] {
                    check_ranked(view, &opts);
                }
            }
        }
    }
}

macro_rules! matrix_tests {
    ($($name:ident: $t:ty),*) => {$(
        #[test]
        fn $name() {
            matrix::<$t>();
        }
    )*};
}
matrix_tests!(
    matrix_bool: bool,
    matrix_i8: i8,
    matrix_i16: i16,
    matrix_i32: i32,
    matrix_i64: i64,
    matrix_u8: u8,
    matrix_u16: u16,
    matrix_u32: u32,
    matrix_u64: u64,
    matrix_f32: f32,
    matrix_f64: f64
);

#[test]
fn memory_layouts_are_what_the_matrix_assumes() {
    let c = Array2::<i32>::zeros((3, 4));
    let mut f = Array2::<i32>::zeros((3, 4).f());
    f.assign(&c);
    assert_eq!(Order::of(&c), Order::C);
    assert_eq!(Order::of(&f), Order::F);
    assert_eq!(Order::of(&c.t()), Order::F);
    assert_eq!(Memory::of(&c.slice(ndarray::s![..;2, ..;-1])), Memory::Strided);
}

#[test]
fn typed_views_of_static_rank() {
    let a = Array2::from_shape_fn((6, 5), |(i, j)| (i * 5 + j) as f64 * 0.1);
    for layout in LAYOUTS {
        let opts = WriteOptions::default().with_layout(layout);
        check(a.view(), &opts);
        check(a.t(), &opts);
        check(a.slice(ndarray::s![..;2, ..;-1]), &opts);
        check(a.slice(ndarray::s![1..4, 2]), &opts);
    }
}

// ---------------------------------------------------------------------------------------------
// Narrowing boundaries, against an oracle written independently of the library.

/// The value of a float as `f64`, by bits.
fn float_value<T: Element>(v: T) -> f64 {
    match T::DTYPE {
        DType::F32 => f64::from(f32::from_bits(u32::try_from(v.to_bits()).expect("32 bits"))),
        _ => f64::from_bits(v.to_bits()),
    }
}

/// The value as an exact integer: any integer, or a whole float in the i64 range but not -0.0.
fn exact_int<T: Element>(v: T) -> Option<i128> {
    match T::DTYPE {
        DType::Bool => None,
        DType::F32 | DType::F64 => {
            let f = float_value(v);
            let two63 = 9_223_372_036_854_775_808.0;
            let whole = f.is_finite() && f.fract() == 0.0 && (-two63..two63).contains(&f);
            (whole && !(f == 0.0 && f.is_sign_negative())).then_some(f as i128) // exact when whole and in range
        }
        _ => v.to_int(),
    }
}

/// True when an f64 survives float32 bit for bit (NaN payloads in the top 23 bits).
fn f32_exact(f: f64) -> bool {
    if f.is_nan() {
        // Quiet NaNs only: the ordinary float32 -> float64 conversion quiets a signaling NaN.
        f.to_bits() & ((1 << 29) - 1) == 0 && f.to_bits() & (1 << 51) != 0
    } else {
        f64::from(f as f32).to_bits() == f.to_bits()
    }
}

/// The narrowest size holding `[lo, hi]` directly or as unsigned `hi - lo` from an offset.
fn int_size(lo: i128, hi: i128) -> usize {
    let ranges: [(i128, i128, usize); 8] = [
        (i8::MIN.into(), i8::MAX.into(), 1),
        (0, u8::MAX.into(), 1),
        (i16::MIN.into(), i16::MAX.into(), 2),
        (0, u16::MAX.into(), 2),
        (i32::MIN.into(), i32::MAX.into(), 4),
        (0, u32::MAX.into(), 4),
        (i64::MIN.into(), i64::MAX.into(), 8),
        (0, u64::MAX.into(), 8),
    ];
    let direct = ranges.iter().find(|r| r.0 <= lo && hi <= r.1).map_or(16, |r| r.2);
    let by_offset = ranges
        .iter()
        .filter(|r| r.0 == 0)
        .find(|r| hi - lo <= r.1)
        .map_or(16, |r| r.2);
    direct.min(by_offset)
}

/// The size the narrowest lossless stored type of `values` must have.
fn expected_size<T: Element>(values: &[T]) -> usize {
    let original = T::DTYPE.size();
    if T::DTYPE == DType::Bool {
        return original;
    }
    let mut best = original;
    if let Some(ints) = values.iter().map(|&v| exact_int(v)).collect::<Option<Vec<_>>>() {
        let lo = ints.iter().copied().min().unwrap_or(0);
        let hi = ints.iter().copied().max().unwrap_or(0);
        best = best.min(int_size(lo, hi));
    }
    if T::DTYPE == DType::F64 && values.iter().all(|&v| f32_exact(float_value(v))) {
        best = best.min(4);
    }
    best
}

/// Asserts the value column of `summary` is the narrowest lossless storage of `values`.
fn assert_narrowest<T: Element>(values: &[T], summary: &WriteSummary, ctx: &str) {
    let n = summary.meta.value_column().narrowing();
    let (stored, offset) = (n.stored, n.offset);
    if let Some(scale) = n.scale {
        // Floats on a common scale are integers: narrower than any float storage.
        assert!(
            stored.size() < expected_size(values),
            "{ctx}: {scale:?} as {stored}"
        );
        return;
    }
    assert_eq!(
        stored.size(),
        expected_size(values),
        "{ctx}: stored as {stored} offset {offset}"
    );
    if stored.size() == T::DTYPE.size() {
        assert_eq!(
            (stored, offset),
            (T::DTYPE, 0),
            "{ctx}: nothing narrows to the same width"
        );
    }
    if stored.is_integer() && stored != T::DTYPE {
        let (lo, hi) = stored.int_range().unwrap();
        for &v in values {
            let i = exact_int(v).unwrap_or_else(|| panic!("{ctx}: {v:?} stored as {stored}"));
            assert!(
                (lo..=hi).contains(&(i - offset)),
                "{ctx}: {v:?} - {offset} does not fit {stored}"
            );
        }
    } else {
        assert_eq!(offset, 0, "{ctx}");
    }
    if stored == DType::F32 && T::DTYPE == DType::F64 {
        assert!(values.iter().all(|&v| f32_exact(float_value(v))), "{ctx}");
    }
}

/// Each boundary value alone, beside 0 and beside the type's extremes, round-tripped dense
/// and sparse; then every pair of boundaries, whose dense narrowing is checked on the summary.
fn boundaries<T: Probe>() {
    let b = T::boundaries();
    let (lo, hi) = T::extremes();
    let dense = WriteOptions::default().with_layout(Layout::Dense);
    let sparse = WriteOptions::default().with_layout(Layout::Sparse);
    for &v in &b {
        for values in [
            vec![v],
            vec![T::default(), v],
            vec![v, lo],
            vec![v, hi],
            vec![v; 3],
        ] {
            let a = Array1::from(values.clone());
            let ctx = format!("{} {values:?}", T::DTYPE);
            assert_narrowest(&values, &check(a.view(), &dense), &format!("{ctx} dense"));
            let nonfill: Vec<T> = values.iter().copied().filter(|x| x.to_bits() != 0).collect();
            assert_narrowest(&nonfill, &check(a.view(), &sparse), &format!("{ctx} sparse"));
        }
    }
    // Every pair: written only (the round trips above cover reading).
    for (i, &x) in b.iter().enumerate() {
        for &y in &b[i + 1..] {
            let values = [x, y];
            let s = write_array_to(Vec::new(), &Array1::from(values.to_vec()), &dense).unwrap();
            assert_narrowest(&values, &s, &format!("{} pair {values:?}", T::DTYPE));
        }
    }
    // All of them in one array, any layout.
    let all = Array1::from(b.clone());
    for layout in LAYOUTS {
        let s = check(all.view(), &WriteOptions::default().with_layout(layout));
        if s.meta.layout == StoredLayout::Dense {
            assert_narrowest(&b, &s, &format!("{} all boundaries", T::DTYPE));
        }
    }
}

macro_rules! boundary_tests {
    ($($name:ident: $t:ty),*) => {$(
        #[test]
        fn $name() {
            boundaries::<$t>();
        }
    )*};
}
boundary_tests!(
    boundaries_bool: bool,
    boundaries_i8: i8,
    boundaries_i16: i16,
    boundaries_i32: i32,
    boundaries_i64: i64,
    boundaries_u8: u8,
    boundaries_u16: u16,
    boundaries_u32: u32,
    boundaries_u64: u64,
    boundaries_f32: f32,
    boundaries_f64: f64
);

#[test]
fn the_oracle_agrees_with_the_documented_rules() {
    assert_eq!(int_size(0, 60_000), 2);
    assert_eq!(int_size(-1, 128), 1, "by offset");
    assert_eq!(int_size(i128::from(i64::MIN), i128::from(i64::MAX)), 8);
    assert_eq!(exact_int(-0.0f64), None);
    assert_eq!(exact_int(3.0f32), Some(3));
    assert!(f32_exact(f64::from_bits(0x7ff8_0000_2000_0000)));
    assert!(!f32_exact(f64::from_bits(0x7ff0_0000_0000_0001)));
    assert!(!f32_exact(0.1));
    assert_eq!(expected_size(&[0.5f64, f64::INFINITY]), 4);
    assert_eq!(expected_size(&[0.0f64, 4095.0]), 2);
}

// ---------------------------------------------------------------------------------------------
// The narrowing decisions for representative inputs, exactly.

/// A value column's stored type and offset.
type Decision = (DType, i128);

/// Writes `values` dense and portable (no scale or transform: the narrowing rules alone) and
/// returns the value column's (stored type, offset), after checking the round trip.
fn decision<T: Element>(values: Vec<T>) -> Decision {
    let a = Array1::from(values);
    let s = check(
        a.view(),
        &WriteOptions::default()
            .with_layout(Layout::Dense)
            .with_portable(true),
    );
    let c = s.meta.value_column();
    (c.stored_type, c.offset)
}

#[test]
fn narrowing_decisions() {
    use DType::*;
    let t12 = 1_000_000_000_000i64;
    let cases: Vec<(&str, Decision, Decision)> = vec![
        (
            "int64 counts 0..=60000",
            decision((0..=60_000i64).collect()),
            (U16, 0),
        ),
        ("int64 0..=255", decision((0..=255i64).collect()), (U8, 0)),
        ("int64 0..=256", decision((0..=256i64).collect()), (U16, 0)),
        ("int64 -1..=127", decision((-1..=127i64).collect()), (I8, 0)),
        (
            "int64 -1..=128 by offset",
            decision((-1..=128i64).collect()),
            (U8, -1),
        ),
        ("int64 -129..=126", decision(vec![-129i64, 126]), (U8, -129)),
        (
            "int64 -32768..=32767",
            decision(vec![-32_768i64, 32_767]),
            (I16, 0),
        ),
        ("int64 0..=65535", decision(vec![0i64, 65_535]), (U16, 0)),
        ("int64 0..=65536", decision(vec![0i64, 65_536]), (U32, 0)),
        (
            "int64 i32 range",
            decision(vec![i64::from(i32::MIN), i64::from(i32::MAX)]),
            (I32, 0),
        ),
        (
            "int64 0..=u32::MAX",
            decision(vec![0i64, i64::from(u32::MAX)]),
            (U32, 0),
        ),
        (
            "int64 0..=u32::MAX+1",
            decision(vec![0i64, i64::from(u32::MAX) + 1]),
            (I64, 0),
        ),
        ("int64 full range", decision(vec![i64::MIN, i64::MAX]), (I64, 0)),
        (
            "int64 10^12..=10^12+200",
            decision((t12..=t12 + 200).collect()),
            (U8, t12.into()),
        ),
        (
            "int64 MIN..=MIN+255",
            decision(vec![i64::MIN, i64::MIN + 255]),
            (U8, i64::MIN.into()),
        ),
        (
            "int64 MAX-65535..=MAX",
            decision(vec![i64::MAX - 65_535, i64::MAX]),
            (U16, i128::from(i64::MAX) - 65_535),
        ),
        (
            "uint64 MAX-255..=MAX",
            decision(((u64::MAX - 255)..=u64::MAX).collect()),
            (U8, i128::from(u64::MAX) - 255),
        ),
        ("uint64 0..=MAX", decision(vec![0u64, u64::MAX]), (U64, 0)),
        ("int32 0..=65536 stays", decision(vec![0i32, 65_536]), (I32, 0)),
        (
            "int32 10^9..=10^9+200",
            decision(vec![1_000_000_000i32, 1_000_000_200]),
            (U8, 1_000_000_000),
        ),
        (
            "int16 30000..=30200",
            decision(vec![30_000i16, 30_200]),
            (U8, 30_000),
        ),
        ("int16 -1..=254", decision(vec![-1i16, 254]), (U8, -1)),
        ("int8 0..=1 same width stays", decision(vec![0i8, 1]), (I8, 0)),
        ("uint8 stays", decision(vec![0u8, 255]), (U8, 0)),
        ("bool", decision(vec![true, false, true]), (Bool, 0)),
        (
            "float64 whole 0..4095",
            decision((0..4095).map(f64::from).collect()),
            (U16, 0),
        ),
        (
            "float64 whole 0..=60000",
            decision((0..=60_000).map(f64::from).collect()),
            (U16, 0),
        ),
        (
            "float64 whole -1..=126",
            decision((-1..=126).map(f64::from).collect()),
            (I8, 0),
        ),
        (
            "float64 whole 10^18 + 0..=256",
            decision(vec![1e18, 1e18 + 256.0]),
            (U16, 1_000_000_000_000_000_000),
        ),
        (
            "float64 f32-exact",
            decision(vec![0.5, 0.25, -3.75, 1e30f32.into()]),
            (F32, 0),
        ),
        (
            "float64 -0.0 is not whole",
            decision(vec![-0.0f64, 1.0]),
            (F32, 0),
        ),
        (
            "float64 ±inf and NaN f32-exact",
            decision(vec![f64::INFINITY, f64::NEG_INFINITY, f64::NAN, 0.5]),
            (F32, 0),
        ),
        (
            "float64 NaN payload fits f32",
            decision(vec![f64::from_bits(0x7ff8_0000_2000_0000), 1.5]),
            (F32, 0),
        ),
        (
            "float64 NaN payload too low for f32",
            decision(vec![f64::from_bits(0x7ff0_0000_0000_0001), 1.0]),
            (F64, 0),
        ),
        (
            "float64 0.1 does not narrow",
            decision(vec![0.1f64, 1.0]),
            (F64, 0),
        ),
        (
            "float64 subnormal does not narrow",
            decision(vec![f64::from_bits(1)]),
            (F64, 0),
        ),
        (
            "float64 f32 subnormal narrows",
            decision(vec![f64::from(f32::from_bits(1))]),
            (F32, 0),
        ),
        (
            "float64 2^53+2 whole but wide",
            decision(vec![0.0, 9_007_199_254_740_994.0]),
            (F64, 0),
        ),
        ("float32 whole 1..=3", decision(vec![3.0f32, 1.0]), (U8, 0)),
        (
            "float32 whole 0..=65535",
            decision(vec![0.0f32, 65_535.0]),
            (U16, 0),
        ),
        (
            "float32 2^24 range stays",
            decision(vec![0.0f32, 16_777_216.0]),
            (F32, 0),
        ),
        ("float32 0.5", decision(vec![0.5f32, 1.0]), (F32, 0)),
        ("float32 subnormal", decision(vec![f32::from_bits(1)]), (F32, 0)),
    ];
    let wrong: Vec<String> = cases
        .iter()
        .filter(|(_, got, want)| got != want)
        .map(|(name, got, want)| format!("{name}: got {got:?}, expected {want:?}"))
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn sparse_narrowing_looks_at_the_entries_only() {
    // Fill 0 is left out: the entries 10^12..10^12+200 need one byte from an offset.
    let t12 = 1_000_000_000_000i64;
    let mut v = vec![0i64; 1000];
    for (i, x) in v.iter_mut().enumerate().step_by(5) {
        *x = t12 + (i as i64 % 201);
    }
    let s = check(
        Array1::from(v).view(),
        &WriteOptions::default().with_layout(Layout::Sparse),
    );
    let c = s.meta.value_column();
    assert_eq!((c.stored_type, c.offset), (DType::U8, i128::from(t12)));
    assert_eq!(s.meta.nnz, 200);
    // Index columns take the narrowest width for the axis length.
    assert_eq!(s.meta.index_columns()[0].stored_type, DType::U16);
}

// ---------------------------------------------------------------------------------------------
// Fill values.

#[test]
fn nan_fill_for_floats() {
    let mut a = Array2::from_elem((20, 30), f64::NAN);
    a[[3, 4]] = 1.5;
    a[[7, 0]] = f64::from_bits(0x7ff0_0000_0000_0001); // another NaN: an entry, not the fill
    a[[19, 29]] = -0.0;
    a[[0, 0]] = 0.0;
    let opts = WriteOptions::default()
        .with_layout(Layout::Sparse)
        .with_fill(Scalar::Float(f64::NAN));
    let s = check(a.view(), &opts);
    assert_eq!(s.meta.nnz, 4);
    assert_eq!(s.meta.fill_bits.as_deref(), Some("0x7ff8000000000000"));
    assert_eq!(s.meta.fill.as_deref(), Some("NaN"));
    let coo = ArrayFile::new(write_bytes(&a, &opts))
        .unwrap()
        .read_coo::<f64>()
        .unwrap();
    assert_eq!(
        bits(coo.values()),
        vec![0, 1.5f64.to_bits(), 0x7ff0_0000_0000_0001, (-0.0f64).to_bits()]
    );

    let mut b = Array1::from_elem(100, f32::NAN);
    b[10] = f32::from_bits(0x7f80_0001);
    b[20] = f32::from_bits(1);
    let s = check(b.view(), &opts);
    assert_eq!(
        (s.meta.nnz, s.meta.fill_bits.as_deref()),
        (2, Some("0x000000007fc00000"))
    );
    for layout in LAYOUTS {
        check(b.view(), &opts.clone().with_layout(layout));
    }
}

#[test]
fn negative_zero_fill_keeps_positive_zeros() {
    let a = Array1::from(vec![-0.0f64, 0.0, -0.0, -0.0, 0.0, 2.0]);
    let opts = WriteOptions::default()
        .with_layout(Layout::Sparse)
        .with_fill(Scalar::Float(-0.0));
    let s = check(a.view(), &opts);
    assert_eq!(s.meta.nnz, 3);
    let coo = ArrayFile::new(write_bytes(&a, &opts))
        .unwrap()
        .read_coo::<f64>()
        .unwrap();
    assert_eq!(bits(coo.values()), bits(&[0.0f64, 0.0, 2.0]));
}

#[test]
fn nonzero_integer_and_true_fills() {
    let a = Array2::from_shape_fn(
        (40, 50),
        |(i, j)| if (i * 50 + j) % 17 == 0 { i as i32 - 20 } else { -7 },
    );
    for layout in LAYOUTS {
        let s = check(
            a.view(),
            &WriteOptions::default()
                .with_layout(layout)
                .with_fill(Scalar::Int(-7)),
        );
        assert_eq!(s.meta.nnz, a.iter().filter(|&&x| x != -7).count() as u64);
        assert_eq!(s.meta.fill.as_deref(), Some("-7"));
    }
    let big = Array1::from_shape_fn(300, |i| if i % 10 == 0 { i as u64 } else { u64::MAX });
    let s = check(
        big.view(),
        &WriteOptions::default()
            .with_layout(Layout::Sparse)
            .with_fill(Scalar::Int(u64::MAX.into())),
    );
    assert_eq!(s.meta.nnz, 30);
    assert_eq!(s.meta.fill_bits.as_deref(), Some("0xffffffffffffffff"));

    let b = Array2::from_shape_fn((30, 30), |(i, j)| i != j);
    for layout in LAYOUTS {
        let s = check(
            b.view(),
            &WriteOptions::default()
                .with_layout(layout)
                .with_fill(Scalar::Bool(true)),
        );
        assert_eq!(s.meta.nnz, 30);
        assert_eq!(s.meta.value_column().stored_type, DType::Bool);
    }
}

#[test]
fn fills_the_dtype_cannot_hold_are_errors() {
    fn bad<T: Element>(values: Vec<T>, fill: Scalar, message: &str) {
        for layout in LAYOUTS {
            let opts = WriteOptions::default().with_layout(layout).with_fill(fill);
            let e = write_array_to(Vec::new(), &Array1::from(values.clone()), &opts).unwrap_err();
            assert!(
                matches!(e.kind(), Error::BadFill { dtype, .. } if *dtype == T::DTYPE),
                "{e:?}"
            );
            assert_eq!(e.to_string(), message);
        }
    }
    bad(
        vec![1i32, 2],
        Scalar::Float(0.5),
        "fill value 0.5 is not exactly representable as int32",
    );
    bad(
        vec![1u8],
        Scalar::Int(256),
        "fill value 256 is not exactly representable as uint8",
    );
    bad(
        vec![1u8],
        Scalar::Int(-1),
        "fill value -1 is not exactly representable as uint8",
    );
    bad(
        vec![1i64],
        Scalar::Float(f64::NAN),
        "fill value NaN is not exactly representable as int64",
    );
    bad(
        vec![true],
        Scalar::Int(1),
        "fill value 1 is not exactly representable as bool",
    );
    bad(
        vec![1.0f64],
        Scalar::Bool(false),
        "fill value false is not exactly representable as float64",
    );
    bad(
        vec![1.0f32],
        Scalar::Float(0.1),
        "fill value 0.1 is not exactly representable as float32",
    );
    bad(
        vec![1.0f32],
        Scalar::Int((1 << 24) + 1),
        "fill value 16777217 is not exactly representable as float32",
    );
}

/// The file `opts` makes of `a`.
fn write_bytes<T: Element, D: Dimension>(a: &ndarray::Array<T, D>, opts: &WriteOptions) -> Bytes {
    let mut buf = Vec::new();
    write_array_to(&mut buf, a, opts).unwrap();
    Bytes::from(buf)
}

// ---------------------------------------------------------------------------------------------
// The narrowed read.

#[test]
fn narrowed_read_of_small_counts_is_u16() {
    let a = Array2::from_shape_fn((240, 250), |(i, j)| ((i * 250 + j) % 60_001) as i64);
    let file = write_bytes(&a, &WriteOptions::default().with_layout(Layout::Dense));
    let n = ArrayFile::new(file).unwrap().read_narrowed().unwrap();
    let DynArray::U16(stored) = &n.array else {
        panic!("read as {}, expected uint16", n.array.dtype())
    };
    assert_eq!(stored.shape(), &[240, 250]);
    assert_eq!(stored[[239, 249]], 59_999);
    assert_eq!(
        n.array.memory_bytes() * 4,
        240 * 250 * 8,
        "a quarter of the int64 memory"
    );
    assert_eq!((n.offset, n.dtype), (0, DType::I64));
    let back = n.widen().unwrap();
    assert_eq!(back.dtype(), DType::I64);
    assert_eq!(back.into_typed::<i64>().unwrap(), a.into_dyn());
}

#[test]
fn narrowed_read_with_an_offset_and_fortran_order() {
    let t12 = 1_000_000_000_000i64;
    let mut a = Array2::<i64>::zeros((30, 20).f());
    a.assign(&Array2::from_shape_fn((30, 20), |(i, j)| {
        t12 + ((i * 20 + j) % 201) as i64
    }));
    let n = ArrayFile::new(write_bytes(
        &a,
        &WriteOptions::default().with_layout(Layout::Dense),
    ))
    .unwrap()
    .read_narrowed()
    .unwrap();
    let DynArray::U8(stored) = &n.array else {
        panic!("read as {}, expected uint8", n.array.dtype())
    };
    assert_eq!(stored[[0, 1]], 1);
    assert_eq!(n.offset, i128::from(t12));
    assert_eq!(n.array.order(), Order::F);
    let back = n.widen().unwrap();
    assert_eq!(back.order(), Order::F);
    assert!(back.bit_eq(&DynArray::from(a.into_dyn())));
}

/// A sparse file read narrowed keeps the recorded Fortran order, as a dense one does (its
/// widened array is documented as the original).
#[test]
fn narrowed_read_of_a_sparse_fortran_array_keeps_its_order() {
    let mut a = Array2::<i64>::zeros((30, 20).f());
    a[[3, 4]] = 9;
    a[[29, 0]] = 300;
    let n = ArrayFile::new(write_bytes(
        &a,
        &WriteOptions::default().with_layout(Layout::Sparse),
    ))
    .unwrap()
    .read_narrowed()
    .unwrap();
    assert_eq!(n.array.order(), Order::F, "narrowed array");
    assert_eq!(n.widen().unwrap().order(), Order::F, "widened array");
}

#[test]
fn narrowed_read_of_a_sparse_array_with_an_unnarrowable_fill_is_an_error() {
    let mut a = Array1::from_elem(100, f64::NAN);
    a[5] = 3.0;
    a[50] = 200.0;
    let opts = WriteOptions::default()
        .with_layout(Layout::Sparse)
        .with_fill(Scalar::Float(f64::NAN));
    let file = write_bytes(&a, &opts);
    let f = ArrayFile::new(file.clone()).unwrap();
    assert_eq!(f.meta().value_column().stored_type, DType::U8);
    let e = f.read_narrowed().unwrap_err();
    assert!(matches!(e.kind(), Error::CorruptData(_)), "{e:?}");
    assert!(
        e.to_string().contains("the fill value NaN has no uint8 form"),
        "{e}"
    );
    // The original dtype still reads.
    assert!(ArrayFile::new(file)
        .unwrap()
        .read_dyn()
        .unwrap()
        .bit_eq(&DynArray::from(a.into_dyn())));
}

// ---------------------------------------------------------------------------------------------
// Typed read errors.

#[test]
fn typed_reads_check_dtype_then_rank() {
    let file = write_bytes(&Array2::<f64>::zeros((3, 4)), &WriteOptions::default());
    let e = read_array_from::<i32, Ix2, _>(file.clone()).unwrap_err();
    assert!(
        matches!(
            e.kind(),
            Error::WrongDtype {
                expected: DType::I32,
                found: DType::F64
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "dtype mismatch: the array is float64, the caller asked for int32"
    );
    let e = read_array_from::<f64, Ix3, _>(file.clone()).unwrap_err();
    assert!(
        matches!(
            e.kind(),
            Error::WrongNdim {
                expected: 3,
                found: 2
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "dimensionality mismatch: the array has 2 axes, the caller asked for 3"
    );
    let e = read_array_from::<f64, Ix0, _>(file.clone()).unwrap_err();
    assert!(
        matches!(
            e.kind(),
            Error::WrongNdim {
                expected: 0,
                found: 2
            }
        ),
        "{e:?}"
    );
    let e = ArrayFile::new(file.clone())
        .unwrap()
        .read_coo::<u8>()
        .unwrap_err();
    assert!(
        matches!(
            e.kind(),
            Error::WrongDtype {
                expected: DType::U8,
                found: DType::F64
            }
        ),
        "{e:?}"
    );
    let ok = read_array_from::<f64, IxDyn, _>(file).unwrap();
    assert_eq!(ok.shape(), &[3, 4]);
}

#[test]
fn sparse_files_check_dtype_and_rank_too() {
    let mut a = Array2::<u16>::zeros((50, 50));
    a[[1, 2]] = 3;
    let file = write_bytes(&a, &WriteOptions::default().with_layout(Layout::Sparse));
    let e = read_array_from::<u32, Ix2, _>(file.clone()).unwrap_err();
    assert!(
        matches!(
            e.kind(),
            Error::WrongDtype {
                expected: DType::U32,
                found: DType::U16
            }
        ),
        "{e:?}"
    );
    let e = read_array_from::<u16, Ix1, _>(file).unwrap_err();
    assert!(
        matches!(
            e.kind(),
            Error::WrongNdim {
                expected: 1,
                found: 2
            }
        ),
        "{e:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Path wrappers, COO and dynamic writers.

#[test]
fn path_wrappers_refuse_to_clobber_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.parquet");
    let first = Array2::from_shape_fn((10, 7), |(i, j)| (i * 7 + j) as i16 - 30);
    let s = write_array(&path, &first, &WriteOptions::default()).unwrap();
    assert_eq!(s.file_bytes, std::fs::metadata(&path).unwrap().len());
    let back: Array2<i16> = read_array(&path).unwrap();
    assert_eq!(back, first);
    let on_disk = std::fs::read(&path).unwrap();

    let second = Array1::from(vec![1.5f32, 2.5]);
    let e = write_array(&path, &second, &WriteOptions::default()).unwrap_err();
    assert!(matches!(e.kind(), Error::OutputExists), "{e:?}");
    assert!(e.to_string().contains("a.parquet"), "{e}");
    assert_eq!(std::fs::read(&path).unwrap(), on_disk, "the first file is intact");
    let back: Array2<i16> = read_array(&path).unwrap();
    assert_eq!(back, first);

    write_array(&path, &second, &WriteOptions::default().with_overwrite(true)).unwrap();
    let back: Array1<f32> = read_array(&path).unwrap();
    assert_eq!(back, second);
    let e = read_array::<i16, Ix2>(&path).unwrap_err();
    assert!(matches!(e.kind(), Error::WrongDtype { .. }), "{e:?}");
    assert!(e.to_string().contains("a.parquet"), "errors name the file: {e}");
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec!["a.parquet"], "no temporary files are left");

    let dyn_path = dir.path().join("d.parquet");
    let d = DynArray::from(Array1::from(vec![u64::MAX, 0]).into_dyn());
    arrstore::write_dyn(&dyn_path, &d, &WriteOptions::default()).unwrap();
    assert!(arrstore::read_dyn(&dyn_path).unwrap().bit_eq(&d));
    let e = arrstore::write_dyn(&dyn_path, &d, &WriteOptions::default()).unwrap_err();
    assert!(matches!(e.kind(), Error::OutputExists), "{e:?}");
    let e = ArrayFile::open(dir.path().join("missing.parquet")).unwrap_err();
    assert!(matches!(e.kind(), Error::Io(_)), "{e:?}");
    assert!(e.to_string().contains("missing.parquet"), "{e}");
}

#[test]
fn coo_and_dynamic_writers_round_trip() {
    let coo = Coo::new(
        vec![4, 300],
        vec![vec![0, 0, 3], vec![5, 299, 0]],
        vec![-1.5f32, f32::NAN, 7.0],
        2.0,
    );
    let mut buf = Vec::new();
    let s = write_coo_to(
        &mut buf,
        &coo,
        &WriteOptions::default().with_layout(Layout::Dense),
    )
    .unwrap();
    assert_eq!(
        s.meta.layout,
        StoredLayout::Sparse,
        "a COO is always written sparse"
    );
    assert_eq!(s.meta.fill.as_deref(), Some("2.0"));
    let back = ArrayFile::new(Bytes::from(buf.clone()))
        .unwrap()
        .read_coo::<f32>()
        .unwrap();
    assert_eq!(bits(back.values()), bits(coo.values()));
    assert_eq!(back.fill(), 2.0);
    assert_eq!(bits(&back.to_dense()), bits(&coo.to_dense()));
    let d = ArrayFile::new(Bytes::from(buf)).unwrap().read_dyn_coo().unwrap();
    assert_eq!((d.nnz(), d.shape()), (3, &[4usize, 300][..]));

    let a = DynArray::from(Array2::from_shape_fn((5, 5), |(i, j)| i == j).into_dyn());
    let mut buf = Vec::new();
    write_dyn_to(&mut buf, &a, &WriteOptions::default()).unwrap();
    assert!(ArrayFile::new(Bytes::from(buf))
        .unwrap()
        .read_dyn()
        .unwrap()
        .bit_eq(&a));
}

#[test]
fn sampled_choice_round_trips() {
    // Fewer cells measured than there are: the choice is an estimate, the round trip exact.
    let a = Array2::from_shape_fn((200, 150), |(i, j)| {
        if (i * 7 + j * 13) % 29 == 0 {
            (i * j) as u32
        } else {
            0
        }
    });
    for layout in LAYOUTS {
        check(
            a.view(),
            &WriteOptions::default().with_layout(layout).with_sample_bytes(400),
        );
        check(
            a.t(),
            &WriteOptions::default()
                .with_layout(layout)
                .with_sample_bytes(400)
                .with_row_group_size(333),
        );
    }
}

#[test]
fn large_arrays_span_scan_chunks_and_read_batches() {
    // 100,000 cells: more than one 65,536-cell scan chunk and, sparse, more than one read batch.
    let c = Array2::from_shape_fn((400, 250), |(i, j)| {
        let k = (i * 250 + j) as i64;
        if k % 10 < 7 {
            k * 3 - 1000
        } else {
            0
        }
    });
    let mut f = Array2::<i64>::zeros((400, 250).f());
    f.assign(&c);
    for layout in LAYOUTS {
        let opts = WriteOptions::default()
            .with_layout(layout)
            .with_sample_bytes(40_000);
        check(c.view(), &opts);
        let s = check(f.view(), &opts);
        assert_eq!(s.meta.nnz, 70_000);
        check(c.slice(ndarray::s![..;3, ..;-2]), &opts);
    }
}

#[test]
fn dictionary_encoded_values_keep_every_bit() {
    // Few distinct values, among them -0.0 beside 0.0 and NaNs with different payloads: a
    // dictionary must not merge values that are equal (or unequal) as numbers but differ in bits.
    let distinct = [
        0.0,
        -0.0,
        f64::NAN,
        f64::from_bits(0x7ff0_0000_0000_0001),
        f64::from_bits(0xfff8_0000_0000_0000),
        f64::from_bits(0x7ff8_0000_0000_0002),
        0.1,
    ];
    let a = Array1::from_shape_fn(20_000, |i| {
        if i % 2 == 0 {
            1.0
        } else {
            distinct[(i / 2 * 7 + i / 5) % 7]
        }
    });
    // One row group, and many: a dictionary per row group.
    for (layout, rows) in [
        (Layout::Dense, 1 << 20),
        (Layout::Sparse, 1 << 20),
        (Layout::Dense, 3000),
        (Layout::Sparse, 3000),
    ] {
        let opts = WriteOptions::default()
            .with_layout(layout)
            .with_fill(Scalar::Float(1.0))
            .with_row_group_size(rows)
            .with_portable(true);
        let s = check(a.view(), &opts);
        assert_eq!(s.meta.value_column().stored_type, DType::F64);
        assert_eq!(
            s.meta.value_column().encoding.as_deref(),
            Some("dictionary"),
            "{layout:?}: the test needs the dictionary path"
        );
    }
    let f = Array1::from_shape_fn(20_000, |i| {
        [
            0.0f32,
            -0.0,
            f32::NAN,
            f32::from_bits(0x7f80_0001),
            f32::from_bits(0xffc0_0001),
        ][(i * 13 / 7) % 5]
    });
    for layout in [Layout::Dense, Layout::Sparse] {
        let s = check(
            f.view(),
            &WriteOptions::default()
                .with_layout(layout)
                .with_fill(Scalar::Int(5)),
        );
        assert_eq!(
            s.meta.value_column().encoding.as_deref(),
            Some("dictionary"),
            "{layout:?}"
        );
    }
}

#[test]
fn one_row_per_row_group() {
    let a = Array2::from_shape_fn((5, 6), |(i, j)| {
        if (i + j) % 3 == 0 {
            (i * 6 + j) as i16 - 10
        } else {
            0
        }
    });
    for layout in LAYOUTS {
        let s = check(
            a.t(),
            &WriteOptions::default().with_layout(layout).with_row_group_size(1),
        );
        let f = ArrayFile::new(write_bytes(
            &a.t().to_owned(),
            &WriteOptions::default().with_layout(layout).with_row_group_size(1),
        ))
        .unwrap();
        let rows = match s.meta.layout {
            StoredLayout::Dense => 30,
            StoredLayout::Sparse => s.meta.nnz as usize,
            StoredLayout::Runs => s.meta.runs.unwrap() as usize,
        };
        assert_eq!(f.parquet_metadata().num_row_groups(), rows, "{layout:?}");
    }
}

#[test]
fn estimates_never_sample_more_cells_than_there_are() {
    // 10 cells, 1 to measure: the sample is at most the array, without repeated cells.
    for (cells, budget) in [(10usize, 1usize), (15, 4), (3, 2), (100, 1), (1000, 16)] {
        let a = Array1::from_shape_fn(cells, |i| (i % 4) as u16 * 1000);
        // uint16: two bytes a cell.
        let s = check(a.view(), &WriteOptions::default().with_sample_bytes(2 * budget));
        let e = s
            .meta
            .estimates
            .expect("an automatic layout records its estimates");
        assert!(
            e.sampled_cells <= cells as u64,
            "{cells} cells, budget {budget}: sampled_cells {}",
            e.sampled_cells
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Property tests.

/// Shapes of up to 4 axes and up to 2000 cells.
fn shapes() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0usize..=9, 0..=4)
        .prop_filter("at most 2000 cells", |s| s.iter().product::<usize>() <= 2000)
}

/// An array of mostly `fill` (density from 0 to 1) and otherwise values of `values`.
fn arrays<T: Element>(values: impl Strategy<Value = T> + Clone, fill: T) -> impl Strategy<Value = ArrayD<T>> {
    (shapes(), 0.0..=1.0f64)
        .prop_flat_map(move |(shape, density)| {
            let n = shape.iter().product::<usize>();
            let cell = (prop::bool::weighted(density), values.clone())
                .prop_map(move |(keep, v)| if keep { v } else { fill });
            (Just(shape), prop::collection::vec(cell, n))
        })
        .prop_map(|(shape, v)| ArrayD::from_shape_vec(IxDyn(&shape), v).expect("n cells"))
}

fn layouts() -> impl Strategy<Value = Layout> {
    prop_oneof![Just(Layout::Auto), Just(Layout::Dense), Just(Layout::Sparse)]
}

/// Round-trips `a` in the memory layout `memory` picks (C, Fortran, transposed, reversed).
fn check_any_memory<T: Element>(a: &ArrayD<T>, memory: u8, opts: &WriteOptions) {
    match memory % 4 {
        0 => check(a.view(), opts),
        1 => {
            let mut f = ArrayD::from_elem(IxDyn(a.shape()).f(), T::default());
            f.assign(a);
            check(f.view(), opts)
        }
        2 => check(a.t(), opts),
        _ => check(a.slice_each_axis(|_| Slice::new(0, None, -1)), opts),
    };
}

macro_rules! prop_round_trip {
    ($($name:ident: $t:ty => $values:expr),* $(,)?) => {$(
        proptest! {
            #![proptest_config(ProptestConfig::with_cases(64))]
            #[test]
            fn $name(
                (a, fill) in $values.prop_flat_map(|fill: $t| (arrays($values, fill), Just(fill))),
                use_fill in any::<bool>(),
                layout in layouts(),
                memory in any::<u8>(),
            ) {
                let mut opts = WriteOptions::default().with_layout(layout);
                if use_fill {
                    opts = opts.with_fill(Scalar::of(fill));
                }
                check_any_memory(&a, memory, &opts);
            }
        }
    )*};
}

/// Small integers, boundaries and anything: so narrowing sees all kinds of ranges.
fn ints<T: Probe + std::fmt::Debug>(
    any: impl Strategy<Value = T> + Clone,
    small: impl Strategy<Value = T> + Clone,
) -> impl Strategy<Value = T> + Clone {
    prop_oneof![2 => small, 1 => prop::sample::select(T::boundaries()), 1 => any]
}

prop_round_trip!(
    prop_bool: bool => any::<bool>(),
    prop_i8: i8 => any::<i8>(),
    prop_i16: i16 => ints(any::<i16>(), -300i16..300),
    prop_i32: i32 => ints(any::<i32>(), 0i32..70_000),
    prop_i64: i64 => ints(any::<i64>(), 1_000_000_000_000i64..1_000_000_000_300),
    prop_u8: u8 => any::<u8>(),
    prop_u16: u16 => ints(any::<u16>(), 0u16..300),
    prop_u32: u32 => ints(any::<u32>(), 60_000u32..70_000),
    prop_u64: u64 => ints(any::<u64>(), (u64::MAX - 1000)..=u64::MAX),
    prop_f32: f32 => prop_oneof![
        2 => any::<u32>().prop_map(f32::from_bits),
        1 => (-100i16..100).prop_map(f32::from),
        1 => prop::sample::select(<f32 as Probe>::boundaries()),
    ],
    prop_f64: f64 => prop_oneof![
        2 => any::<u64>().prop_map(f64::from_bits),
        1 => any::<u32>().prop_map(|b| f64::from(f32::from_bits(b))),
        1 => (-70_000i32..70_000).prop_map(f64::from),
        1 => prop::sample::select(<f64 as Probe>::boundaries()),
    ],
);
