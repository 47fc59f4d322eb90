//! PReLU (He et al. 2015): leaky ReLU whose negative slope is learned.
//!
//! `y = x` for `x > 0`, `y = a x` otherwise, with `a` either one scalar
//! shared by every unit or one per unit (the last axis). The slope starts
//! at 0.25 (the paper's initial value) and carries no weight decay: decaying
//! it would pull the unit towards ReLU for no reason.
//!
//! Gradients: `dx = g` (x > 0) or `a g`; `da = sum over x <= 0 of g x`
//! (summed over every position that shares the slope).

use ndarray::{Array1, ArrayD, ArrayViewD};

use crate::nn::tensor::ensure_shape;
use crate::nn::{Ctx, Layer, Param};

/// Parametric ReLU over the last axis.
#[derive(Debug, Clone)]
pub struct PRelu {
    /// `(1,)` shared or `(units,)` per unit.
    pub alpha: Param,
    input: ArrayD<f32>,
}

impl PRelu {
    /// One slope shared by every unit, starting at `init` (0.25 in the paper).
    pub fn shared(init: f32) -> Self {
        PRelu::from_alpha(Array1::from_elem(1, init))
    }

    /// One slope per unit of the last axis (size `units`), each starting at `init`.
    pub fn per_unit(units: usize, init: f32) -> Self {
        PRelu::from_alpha(Array1::from_elem(units, init))
    }

    fn from_alpha(a: Array1<f32>) -> Self {
        PRelu {
            alpha: Param::new("alpha", a.into_dyn(), false),
            input: ArrayD::zeros(ndarray::IxDyn(&[0])),
        }
    }

    fn units(&self) -> usize {
        self.alpha.len()
    }
}

impl Layer for PRelu {
    fn name(&self) -> String {
        if self.units() == 1 {
            "prelu(shared)".to_string()
        } else {
            format!("prelu({})", self.units())
        }
    }

    /// `y = x` if `x > 0` else `a x`.
    ///
    /// # Shapes
    /// `(.., units) -> (.., units)` (any shape with a shared slope)
    fn forward(&mut self, x: ArrayViewD<'_, f32>, ctx: &mut Ctx<'_>) -> ArrayD<f32> {
        let n = self.units();
        let last = x.shape().last().copied().unwrap_or(0);
        assert!(
            n == 1 || last == n,
            "{}: input shape {:?}",
            self.name(),
            x.shape()
        );
        let x = x.as_standard_layout().into_owned();
        if ctx.training() {
            ensure_shape(&mut self.input, x.shape());
            self.input.assign(&x);
        }
        let a = self
            .alpha
            .value
            .as_slice()
            .expect("contiguous alpha")
            .to_vec();
        let mut y = x;
        let ys = y.as_slice_mut().expect("standard layout");
        if n == 1 {
            ys.iter_mut()
                .for_each(|v| *v = if *v > 0.0 { *v } else { a[0] * *v });
        } else {
            for row in ys.chunks_exact_mut(n) {
                for (v, &ai) in row.iter_mut().zip(&a) {
                    *v = if *v > 0.0 { *v } else { ai * *v };
                }
            }
        }
        y
    }

    /// `dx = g [x > 0] + a g [x <= 0]`; `da += sum g x [x <= 0]`.
    ///
    /// # Shapes
    /// same as forward
    fn backward(&mut self, grad_out: ArrayViewD<'_, f32>) -> ArrayD<f32> {
        assert_eq!(
            grad_out.shape(),
            self.input.shape(),
            "{}: backward shape",
            self.name()
        );
        let n = self.units();
        let a = self
            .alpha
            .value
            .as_slice()
            .expect("contiguous alpha")
            .to_vec();
        let mut dx = grad_out.as_standard_layout().into_owned();
        let xs = self.input.as_slice().expect("standard layout");
        let mut da = vec![0.0f64; n];
        let ds = dx.as_slice_mut().expect("standard layout");
        for (i, (g, &x)) in ds.iter_mut().zip(xs).enumerate() {
            if x <= 0.0 {
                let k = if n == 1 { 0 } else { i % n };
                da[k] += (*g as f64) * (x as f64);
                *g *= a[k];
            }
        }
        if self.alpha.trainable {
            for (ga, d) in self.alpha.grad.iter_mut().zip(da) {
                *ga += d as f32;
            }
        }
        dx
    }

    fn params(&self) -> Vec<&Param> {
        vec![&self.alpha]
    }

    fn params_mut(&mut self) -> Vec<&mut Param> {
        vec![&mut self.alpha]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::gradcheck::{check_layer, CheckOptions};
    use crate::nn::rng_from_seed;
    use ndarray::IxDyn;

    /// Values at least 0.1 from the kink (step 1e-2 never straddles it).
    fn input(shape: &[usize]) -> ArrayD<f32> {
        let n: usize = shape.iter().product();
        let v = (0..n)
            .map(|k| {
                let v = ((k * 37) % 19) as f32 / 10.0 - 0.95;
                if v.abs() < 0.1 {
                    0.5
                } else {
                    v
                }
            })
            .collect();
        ArrayD::from_shape_vec(IxDyn(shape), v).unwrap()
    }

    #[test]
    fn gradcheck_shared_and_per_unit() {
        check_layer(
            &mut PRelu::shared(0.25),
            &input(&[4, 5]),
            &CheckOptions::default(),
        );
        check_layer(
            &mut PRelu::per_unit(5, 0.1),
            &input(&[4, 5]),
            &CheckOptions::default(),
        );
        check_layer(
            &mut PRelu::per_unit(3, 0.3),
            &input(&[2, 4, 3]),
            &CheckOptions::default(),
        );
    }

    #[test]
    fn values() {
        let mut p = PRelu::per_unit(2, 0.5);
        p.alpha.value[1] = 0.1;
        let x = ndarray::array![[-2.0f32, -2.0], [3.0, 3.0]].into_dyn();
        let mut rng = rng_from_seed(0);
        let y = p.forward(x.view(), &mut Ctx::eval(&mut rng));
        assert_eq!(y, ndarray::array![[-1.0f32, -0.2], [3.0, 3.0]].into_dyn());
    }
}
