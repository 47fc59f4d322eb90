//! Small shape helpers shared by layers: viewing an n-d tensor as rows over
//! its last axis, and reusing cache buffers without reallocating.

use ndarray::{Array2, ArrayD, ArrayView2, ArrayViewD, Ix2, IxDyn};

/// Returns `(rows, last)` for a tensor shape of rank >= 1.
pub fn rows_cols(shape: &[usize]) -> (usize, usize) {
    let last = *shape.last().expect("tensor of rank >= 1");
    let rows = shape[..shape.len() - 1].iter().product();
    (rows, last)
}

/// Views `x` as `(rows, last)` where `last` is the size of the last axis,
/// copying only when `x` is not in standard (row-major) layout.
///
/// # Shapes
/// `(d0, .., dn-1, last) -> (d0 * .. * dn-1, last)`
pub fn to_rows(x: ArrayViewD<'_, f32>) -> RowsOwnedOrView<'_> {
    let (rows, cols) = rows_cols(x.shape());
    if x.is_standard_layout() {
        RowsOwnedOrView::View(
            x.into_shape_with_order((rows, cols))
                .expect("standard layout"),
        )
    } else {
        let owned = x.as_standard_layout().into_owned();
        RowsOwnedOrView::Owned(
            owned
                .into_shape_with_order((rows, cols))
                .expect("standard layout"),
        )
    }
}

/// Either a borrowed or a copied `(rows, cols)` matrix.
pub enum RowsOwnedOrView<'a> {
    /// The input itself.
    View(ArrayView2<'a, f32>),
    /// A standard-layout copy.
    Owned(Array2<f32>),
}

impl RowsOwnedOrView<'_> {
    /// The matrix as a view.
    pub fn view(&self) -> ArrayView2<'_, f32> {
        match self {
            RowsOwnedOrView::View(v) => v.view(),
            RowsOwnedOrView::Owned(a) => a.view(),
        }
    }
}

/// Copies `src` into `buf`, reallocating `buf` only when the shape differs.
pub fn copy_into(buf: &mut Array2<f32>, src: ArrayView2<'_, f32>) {
    if buf.dim() != src.dim() {
        *buf = Array2::zeros(src.dim());
    }
    buf.assign(&src);
}

/// Resizes `buf` to `shape` (contents unspecified after a resize: zeros).
pub fn ensure_shape(buf: &mut ArrayD<f32>, shape: &[usize]) {
    if buf.shape() != shape {
        *buf = ArrayD::zeros(IxDyn(shape));
    }
}

/// `(rows, cols)` view of a contiguous n-d array (panics if not standard).
pub fn as_rows(a: &ArrayD<f32>) -> ArrayView2<'_, f32> {
    let (r, c) = rows_cols(a.shape());
    a.view()
        .into_shape_with_order((r, c))
        .expect("standard layout")
}

/// The 2-d view of a parameter stored as an n-d array of rank 2.
pub fn param2(a: &ArrayD<f32>) -> ArrayView2<'_, f32> {
    a.view()
        .into_dimensionality::<Ix2>()
        .expect("rank-2 parameter")
}
