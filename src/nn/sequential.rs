//! A chain of layers applied in order.
//!
//! `backward_params_only` (used by the training loop) runs full backward
//! passes from the last layer down to the first layer that has trainable
//! parameters, calls `backward_params_only` on that one, and stops: layers
//! before it (input standardisation, frozen front-end stages) need no
//! gradient, and the first linear layer skips its `dY W^T` matmul, which for
//! a wide input is the most expensive matmul of the whole step.

use ndarray::{ArrayD, ArrayViewD};

use crate::nn::{Ctx, Layer, Param};

/// Layers applied in order; itself a [`Layer`].
#[derive(Default)]
pub struct Sequential {
    layers: Vec<Box<dyn Layer>>,
}

impl std::fmt::Debug for Sequential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

impl Sequential {
    /// An empty chain (the identity).
    pub fn new() -> Self {
        Sequential { layers: Vec::new() }
    }

    /// Appends a layer.
    pub fn push(&mut self, layer: impl Layer + 'static) {
        self.layers.push(Box::new(layer));
    }

    /// Appends a boxed layer.
    pub fn push_boxed(&mut self, layer: Box<dyn Layer>) {
        self.layers.push(layer);
    }

    /// The layers, in order.
    pub fn layers(&self) -> &[Box<dyn Layer>] {
        &self.layers
    }

    /// The layers, mutable.
    pub fn layers_mut(&mut self) -> &mut [Box<dyn Layer>] {
        &mut self.layers
    }

    /// Number of layers.
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// True with no layers.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// One label per parameter, in [`Layer::params`] order:
    /// `"{index}.{param}"` (stable, used as tensor names when saving).
    pub fn param_keys(&self) -> Vec<String> {
        let mut keys = Vec::new();
        for (i, l) in self.layers.iter().enumerate() {
            for p in l.params() {
                keys.push(format!("{i}.{}", p.name));
            }
        }
        keys
    }

    /// One human-readable label per parameter: `"layer 2 linear(256->10).weight"`.
    pub fn param_labels(&self) -> Vec<String> {
        let mut labels = Vec::new();
        for (i, l) in self.layers.iter().enumerate() {
            for p in l.params() {
                labels.push(format!("layer {i} {}.{}", l.name(), p.name));
            }
        }
        labels
    }

    /// Runs the layers one by one and names the first whose output holds a
    /// NaN or an infinity (a diagnostic for the training guard).
    pub fn first_nonfinite_layer(
        &mut self,
        x: ArrayViewD<'_, f32>,
        ctx: &mut Ctx<'_>,
    ) -> Option<String> {
        if x.iter().any(|v| !v.is_finite()) {
            return Some("the input".to_string());
        }
        let mut h = x.to_owned();
        for (i, l) in self.layers.iter_mut().enumerate() {
            h = l.forward(h.view(), ctx);
            if h.iter().any(|v| !v.is_finite()) {
                return Some(format!("layer {i} {}", l.name()));
            }
        }
        None
    }
}

impl Layer for Sequential {
    fn name(&self) -> String {
        let names: Vec<String> = self.layers.iter().map(|l| l.name()).collect();
        format!("sequential[{}]", names.join(", "))
    }

    /// Applies each layer in turn.
    ///
    /// # Shapes
    /// input of the first layer -> output of the last
    fn forward(&mut self, x: ArrayViewD<'_, f32>, ctx: &mut Ctx<'_>) -> ArrayD<f32> {
        let mut iter = self.layers.iter_mut();
        let Some(first) = iter.next() else {
            return x.to_owned();
        };
        let mut h = first.forward(x, ctx);
        for l in iter {
            h = l.forward(h.view(), ctx);
        }
        h
    }

    /// Back-propagates through every layer, last to first.
    fn backward(&mut self, grad_out: ArrayViewD<'_, f32>) -> ArrayD<f32> {
        let mut g = grad_out.to_owned();
        for l in self.layers.iter_mut().rev() {
            g = l.backward(g.view());
        }
        g
    }

    /// Back-propagates down to the first layer with trainable parameters
    /// only (see the module docs).
    fn backward_params_only(&mut self, grad_out: ArrayViewD<'_, f32>) {
        let Some(first) = self.layers.iter().position(|l| l.num_trainable() > 0) else {
            return;
        };
        let n = self.layers.len();
        if first == n - 1 {
            self.layers[first].backward_params_only(grad_out);
            return;
        }
        let mut g = self.layers[n - 1].backward(grad_out);
        for i in (first + 1..n - 1).rev() {
            g = self.layers[i].backward(g.view());
        }
        self.layers[first].backward_params_only(g.view());
    }

    fn params(&self) -> Vec<&Param> {
        self.layers.iter().flat_map(|l| l.params()).collect()
    }

    fn params_mut(&mut self) -> Vec<&mut Param> {
        self.layers
            .iter_mut()
            .flat_map(|l| l.params_mut())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::activation::{Activation, ActivationFn};
    use crate::nn::gradcheck::{check_layer, CheckOptions};
    use crate::nn::init::Init;
    use crate::nn::linear::Linear;
    use crate::nn::rng_from_seed;
    use ndarray::IxDyn;

    fn net(seed: u64) -> Sequential {
        let mut rng = rng_from_seed(seed);
        let mut s = Sequential::new();
        s.push(Linear::new(4, 5, Init::XavierUniform, &mut rng));
        s.push(Activation::new(ActivationFn::Tanh).unwrap());
        s.push(Linear::new(5, 3, Init::XavierUniform, &mut rng));
        s
    }

    #[test]
    fn gradcheck_chain() {
        let x = ArrayD::from_shape_fn(IxDyn(&[3, 4]), |i| ((i[0] * 4 + i[1]) as f32 * 0.37).sin());
        check_layer(&mut net(1), &x, &CheckOptions::default());
    }

    #[test]
    fn params_only_equals_full_backward_for_parameters() {
        let x = ArrayD::from_shape_fn(IxDyn(&[3, 4]), |i| ((i[0] + 2 * i[1]) as f32).cos());
        let g = ArrayD::from_shape_fn(IxDyn(&[3, 3]), |i| (i[0] as f32 - i[1] as f32) * 0.3);
        let (mut a, mut b) = (net(2), net(2));
        let mut rng = rng_from_seed(0);
        a.forward(x.view(), &mut Ctx::train(&mut rng));
        b.forward(x.view(), &mut Ctx::train(&mut rng));
        let _ = a.backward(g.view());
        b.backward_params_only(g.view());
        for (pa, pb) in a.params().iter().zip(b.params()) {
            assert_eq!(pa.grad, pb.grad);
        }
        assert_eq!(
            a.param_keys(),
            vec!["0.weight", "0.bias", "2.weight", "2.bias"]
        );
        assert!(a.param_labels()[2].contains("linear(5->3).weight"));
    }

    #[test]
    fn nonfinite_layer_is_named() {
        let mut s = net(3);
        s.layers_mut()[2].params_mut()[0].value.fill(f32::INFINITY);
        let x = ArrayD::from_elem(IxDyn(&[1, 4]), 0.5f32);
        let mut rng = rng_from_seed(0);
        let which = s
            .first_nonfinite_layer(x.view(), &mut Ctx::eval(&mut rng))
            .unwrap();
        assert!(which.starts_with("layer 2 linear"), "{which}");
    }
}
