//! Training-step throughput of the benchmark MLP (1287 -> 256 -> 256 -> 10,
//! ReLU, Adam) on one thread, against the raw matmul floor measured in the
//! same run.
//!
//! `batch_N`: one full step (forward, fused softmax cross-entropy, backward
//! without the first layer's input gradient, NaN guard, Adam update).
//! `batch_N_dropout_l2`: the same with dropout 0.2 after each hidden layer
//! and L2 1e-4 (PyTorch's Adam `weight_decay`, also coupled).
//! `matmul_floor_batch_N`: only the eight matmuls such a step needs (three
//! forward, three weight gradients, two input gradients), into preallocated
//! buffers, with the step's own product (`nn::matmul::gemm`, faer): the
//! floor that "nothing beyond the matmuls" would reach.
//! `matmul_floor_matrixmultiply_batch_N`: the same eight products with
//! ndarray's own `general_mat_mul` (matrixmultiply), the backend the step
//! used before faer, kept as a same-run reference.
//!
//! Every product runs on one thread (faer with `Par::Seq`), and nothing
//! here uses rayon, so every benchmark runs on one thread.
//!
//! Run: `cargo bench --bench train -- mlp_train_step`; against PyTorch in
//! the same run: `python3 benches/reference/torch_train_step.py --cpu-time
//! --with-rust` (see its docs). Figures, machine and history:
//! docs/performance.md.
//!
//! On a shared machine wall-clock times swing with the other processes'
//! load; `BENCH_CPU_TIME=1` measures this thread's CPU time instead
//! (`clock_gettime(CLOCK_THREAD_CPUTIME_ID)`, Linux), which excludes time
//! spent descheduled (but not the slowdown from a busy sibling hyperthread). On an idle machine both agree for these single-threaded
//! benchmarks.

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{BenchmarkId, Criterion, Throughput};
use ndarray::{Array2, ArrayD, ArrayView2, ArrayViewMut2, IxDyn};
use rand::RngExt;
use speechfront::nn::init::Init;
use speechfront::nn::matmul::gemm;
use speechfront::nn::optim::OptimizerSpec;
use speechfront::nn::rng_from_seed;
use speechfront::nn::spec::{build, MlpSpec};
use speechfront::train::{TrainConfig, Trainer};

const DIMS: [usize; 4] = [1287, 256, 256, 10];

fn step_bench<M: Measurement>(
    c: &mut Criterion<M>,
    batch: usize,
    dropout: f32,
    l2: f32,
    name: &str,
) {
    let mut rng = rng_from_seed(1);
    let spec = MlpSpec {
        hidden: vec![DIMS[1], DIMS[2]],
        dropout,
        input_norm: false,
        ..Default::default()
    };
    let mut net = build(&spec, DIMS[0], DIMS[3], &mut rng).expect("valid spec");
    let x = ArrayD::from_shape_fn(IxDyn(&[batch, DIMS[0]]), |_| rng.random_range(-1.0f32..1.0));
    let labels: Vec<usize> = (0..batch).map(|_| rng.random_range(0..DIMS[3])).collect();
    let cfg = TrainConfig {
        optimizer: OptimizerSpec::default(),
        l2,
        ..Default::default()
    };
    let mut trainer = Trainer::new(&cfg).expect("valid config");
    let mut group = c.benchmark_group("mlp_train_step");
    group.throughput(Throughput::Elements(batch as u64));
    group.bench_function(BenchmarkId::from_parameter(name), |b| {
        b.iter(|| {
            trainer
                .step(&mut net, x.view(), &labels, None, None, 1e-4, &mut rng)
                .expect("finite")
        })
    });
    group.finish();
}

/// One matrix product `c = alpha a b + beta c` of some backend.
type Gemm = fn(f32, ArrayView2<'_, f32>, ArrayView2<'_, f32>, f32, &mut ArrayViewMut2<'_, f32>);

/// ndarray's own product (matrixmultiply), the backend before faer.
fn ndarray_gemm(
    alpha: f32,
    a: ArrayView2<'_, f32>,
    b: ArrayView2<'_, f32>,
    beta: f32,
    c: &mut ArrayViewMut2<'_, f32>,
) {
    ndarray::linalg::general_mat_mul(alpha, &a, &b, beta, c);
}

fn floor_bench<M: Measurement>(c: &mut Criterion<M>, batch: usize, mm: Gemm, name: &str) {
    let mut rng = rng_from_seed(2);
    let w: Vec<Array2<f32>> = (0..3)
        .map(|i| Init::HeUniform.weights(DIMS[i], DIMS[i + 1], &mut rng))
        .collect();
    let mut gw: Vec<Array2<f32>> = (0..3)
        .map(|i| Array2::zeros((DIMS[i], DIMS[i + 1])))
        .collect();
    let x = Array2::from_shape_fn((batch, DIMS[0]), |_| rng.random_range(-1.0f32..1.0));
    let mut h: Vec<Array2<f32>> = (1..4).map(|i| Array2::zeros((batch, DIMS[i]))).collect();
    let mut g: Vec<Array2<f32>> = (1..4)
        .map(|i| Array2::from_elem((batch, DIMS[i]), 1e-3))
        .collect();
    let mut group = c.benchmark_group("mlp_train_step");
    group.throughput(Throughput::Elements(batch as u64));
    group.bench_function(BenchmarkId::from_parameter(name), |b| {
        b.iter(|| {
            // forward: (B, in) x (in, out)
            mm(1.0, x.view(), w[0].view(), 0.0, &mut h[0].view_mut());
            let (h0, rest) = h.split_at_mut(1);
            mm(1.0, h0[0].view(), w[1].view(), 0.0, &mut rest[0].view_mut());
            let (h1, h2) = rest.split_at_mut(1);
            mm(1.0, h1[0].view(), w[2].view(), 0.0, &mut h2[0].view_mut());
            // weight gradients: (in, B) x (B, out)
            mm(1.0, h[1].t(), g[2].view(), 1.0, &mut gw[2].view_mut());
            mm(1.0, h[0].t(), g[1].view(), 1.0, &mut gw[1].view_mut());
            mm(1.0, x.t(), g[0].view(), 1.0, &mut gw[0].view_mut());
            // input gradients of layers 3 and 2: (B, out) x (out, in)
            let (g01, g2) = g.split_at_mut(2);
            mm(1.0, g2[0].view(), w[2].t(), 0.0, &mut g01[1].view_mut());
            let (g0, g1) = g01.split_at_mut(1);
            mm(1.0, g1[0].view(), w[1].t(), 0.0, &mut g0[0].view_mut());
        })
    });
    group.finish();
}

fn benches<M: Measurement>(c: &mut Criterion<M>) {
    for batch in [32, 128, 1024] {
        floor_bench(c, batch, gemm, &format!("matmul_floor_batch_{batch}"));
        floor_bench(
            c,
            batch,
            ndarray_gemm,
            &format!("matmul_floor_matrixmultiply_batch_{batch}"),
        );
        step_bench(c, batch, 0.0, 0.0, &format!("batch_{batch}"));
        step_bench(c, batch, 0.2, 1e-4, &format!("batch_{batch}_dropout_l2"));
    }
}

/// CPU time of the calling thread, in nanoseconds.
struct ThreadCpuTime;

#[repr(C)]
struct Timespec {
    tv_sec: i64,
    tv_nsec: i64,
}

extern "C" {
    fn clock_gettime(clock: i32, tp: *mut Timespec) -> i32;
}

/// `CLOCK_THREAD_CPUTIME_ID` on Linux.
const CLOCK_THREAD_CPUTIME_ID: i32 = 3;

/// CPU time of the calling thread in ns. `clock_gettime` is used rather
/// than `/proc/thread-self/schedstat`, which is only refreshed at scheduler
/// ticks (4 ms) and reads zero for a 1 ms sample.
fn thread_cpu_ns() -> u64 {
    let mut ts = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec (two i64 on x86-64 and
    // aarch64 Linux) and the clock id is a constant Linux defines.
    let rc = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

struct NsFormatter;

impl ValueFormatter for NsFormatter {
    fn scale_values(&self, ns: f64, values: &mut [f64]) -> &'static str {
        let (factor, unit) = if ns < 1e3 {
            (1.0, "ns (cpu)")
        } else if ns < 1e6 {
            (1e-3, "µs (cpu)")
        } else {
            (1e-6, "ms (cpu)")
        };
        values.iter_mut().for_each(|v| *v *= factor);
        unit
    }

    fn scale_throughputs(
        &self,
        _typical: f64,
        throughput: &Throughput,
        values: &mut [f64],
    ) -> &'static str {
        let n = match *throughput {
            Throughput::Elements(e) | Throughput::ElementsAndBytes { elements: e, .. } => e as f64,
            Throughput::Bytes(b) | Throughput::BytesDecimal(b) => b as f64,
            Throughput::Bits(b) => b as f64,
        };
        values.iter_mut().for_each(|v| *v = n * 1e9 / *v / 1e3);
        "Kelem/s (cpu)"
    }

    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

impl Measurement for ThreadCpuTime {
    type Intermediate = u64;
    type Value = u64;
    fn start(&self) -> u64 {
        thread_cpu_ns()
    }
    fn end(&self, i: u64) -> u64 {
        thread_cpu_ns() - i
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, v: &u64) -> f64 {
        *v as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &NsFormatter
    }
}

fn main() {
    if std::env::var_os("BENCH_CPU_TIME").is_some_and(|v| v == "1") {
        let mut c = Criterion::default()
            .with_measurement(ThreadCpuTime)
            .configure_from_args();
        benches(&mut c);
        c.final_summary();
    } else {
        let mut c = Criterion::default()
            .with_measurement(WallTime)
            .configure_from_args();
        benches(&mut c);
        c.final_summary();
    }
}
