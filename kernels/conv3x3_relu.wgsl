// conv3x3_relu.wgsl: 3x3, stride 1, 'same' (zero padding 1) convolution + bias + ReLU in one pass.
//
// Computes
//   y[b,h,w,co] = max(0, bias[co] + sum_{ky,kx,ci} x[b, h+ky-1, w+kx-1, ci] * wt[ky,kx,ci,co])
// as a tiled implicit GEMM  Y[m, n] = sum_k A[m, k] * B[k, n]  with
//   m = (b*H + h)*W + w         one output pixel        M = batch*H*W
//   n = co                      one output channel      N = C_out
//   k = (ky*3 + kx)*C_in + ci   one tap of one channel  K = 9*C_in
//   A[m, k] = x at the tap's neighbour of pixel m, 0 outside the image. A is never materialised:
//             each K-tile gathers it straight from x, which is what makes this "implicit".
//   B[k, n] = wt; the HWIO layout [3,3,C_in,C_out] already is B in row-major order.
//
// Layouts (all f32, dense, row-major): x NHWC [batch,H,W,C_in]; wt HWIO [3,3,C_in,C_out];
// bias [C_out]; y NHWC [batch,H,W,C_out].
//
// Bindings (group 0): 0 x (read), 1 wt (read), 2 bias (read), 3 y (write), 4 Params (uniform).
// The host may bind a batch sub-range of x and y (to respect maxStorageBufferBindingSize); the
// shader then only ever sees `batch` images.
//
// Work decomposition: the GEMM core kernels/conv3x3_gemm.wgsl, included at the end, shared with
// conv3x3_grad_input.wgsl (64 threads, 64x64 output tile, 8x8 register block per thread, TILE_K =
// 16 per barrier; see there for why). This file supplies the gather of A and the epilogue.
// C_in = 3 (the first layer) takes a per-element gather; C_in % 4 == 0 gathers 4 consecutive
// channels of one tap at a time (a 16-byte contiguous read).

// RELU (override, default true): false drops the ReLU (a plain conv + bias: tfjs's Conv2D and
// FusedConv2D 'linear' through the registered kernels, src/gpu/register.ts).
override RELU: bool = true;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> wt: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

// 4 consecutive k of A for pixel m, starting at k (zero past K or in the padding).
fn gather(m: u32, h: u32, w: u32, k: u32) -> vec4<f32> {
  var v = vec4<f32>(0.0);
  if ((p.c_in & 3u) == 0u) {
    // k is a multiple of 4 and so is C_in: the 4 values are consecutive channels of one tap.
    if (k < p.k_total) {
      let i = tap_index(m, h, w, k);
      if (i >= 0) {
        let u = u32(i);
        v = vec4<f32>(x[u], x[u + 1u], x[u + 2u], x[u + 3u]);
      }
    }
  } else {
    for (var j = 0u; j < 4u; j++) {
      if (k + j < p.k_total) {
        let i = tap_index(m, h, w, k + j);
        if (i >= 0) {
          v[j] = x[u32(i)];
        }
      }
    }
  }
  return v;
}

// Bias, ReLU and store of 4 channels n..n+3 of pixel m.
fn store(m: u32, n: u32, acc: vec4<f32>) {
  if (m >= p.m_total || n >= p.c_out) {
    return;
  }
  let o = m * p.c_out + n;
  if (n + 3u < p.c_out) {
    var v = acc + vec4<f32>(bias[n], bias[n + 1u], bias[n + 2u], bias[n + 3u]);
    if (RELU) {
      v = max(v, vec4<f32>(0.0));
    }
    y[o] = v.x;
    y[o + 1u] = v.y;
    y[o + 2u] = v.z;
    y[o + 3u] = v.w;
  } else {
    for (var c = 0u; c < 4u && n + c < p.c_out; c++) {
      let v = acc[c] + bias[n + c];
      y[o + c] = select(v, max(v, 0.0), RELU);
    }
  }
}

// #include conv3x3_gemm.wgsl
