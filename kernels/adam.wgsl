// adam.wgsl: one fused Adam step on the image, with the clip to the valid pixel range.
//
// TensorFlow's Adam (epsilon outside the bias correction), per element e with channel c = e % C:
//   m'  = m * beta1 + g * (1 - beta1)
//   v'  = v * beta2 + g^2 * (1 - beta2)
//   x'  = min(max(x - lr_t * m' / (sqrt(v') + eps), lo[c]), hi[c])
// where lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t) is computed on the host in double
// precision, like STOCK_KERNELS.adamUpdate (the operations are in the same order, so results
// match it to rounding).
//
// Layouts (f32, dense): x, g, m, v and the outputs NHWC [batch, H, W, C]; bounds [2 * C] holding lo
// then hi (the host copies the two [C] tensors into one buffer so the kernel stays within the 8
// storage buffers per stage WebGPU guarantees).
//
// Bindings (group 0): 0 x, 1 g, 2 m, 3 v, 4 bounds (read); 5 x', 6 m', 7 v' (write); 8 Params.
//
// One thread per element (C = 3 does not vectorise), WG = 256 threads, workgroup index folded
// over dispatch x and y. Reading 4 and writing 3 arrays once: purely bandwidth-bound, and a
// single pass instead of the ~12 elementwise passes of the stock version.

override WG: u32; // threads per workgroup, set by the host (src/gpu/)

struct Params {
  total: u32,
  channels: u32,
  lr_t: f32,
  beta1: f32,
  beta2: f32,
  one_minus_beta1: f32,
  one_minus_beta2: f32,
  epsilon: f32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> m: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> bounds: array<f32>;
@group(0) @binding(5) var<storage, read_write> x_out: array<f32>;
@group(0) @binding(6) var<storage, read_write> m_out: array<f32>;
@group(0) @binding(7) var<storage, read_write> v_out: array<f32>;
@group(0) @binding(8) var<uniform> p: Params;

@compute @workgroup_size(WG, 1, 1)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lidx: u32,
) {
  let e = (wid.x + wid.y * nwg.x) * WG + lidx;
  if (e >= p.total) {
    return;
  }
  let ge = g[e];
  let m1 = m[e] * p.beta1 + ge * p.one_minus_beta1;
  let v1 = v[e] * p.beta2 + (ge * ge) * p.one_minus_beta2;
  let step = (m1 * p.lr_t) / (sqrt(v1) + p.epsilon);
  let c = e % p.channels;
  x_out[e] = min(max(x[e] - step, bounds[c]), bounds[p.channels + c]);
  m_out[e] = m1;
  v_out[e] = v1;
}
