// conv3x3_grad_input.wgsl: input gradient of conv3x3_relu.wgsl, with the ReLU mask applied.
//
// For y = relu(conv3x3(x, wt) + bias), the gradient w.r.t. x of a loss with dL/dy = dy is
//   dx[b,h,w,ci] = sum_{ky,kx,co} g[b, h+ky-1, w+kx-1, co] * flipped[ky,kx,co,ci],
//   g = dy * (y > 0)   (the ReLU mask, applied while gathering: g is never stored),
//   flipped[ky,kx,co,ci] = wt[2-ky, 2-kx, ci, co]   (rotated 180 degrees, in/out swapped),
// i.e. a forward 3x3 'same' convolution of g with `flipped` and no bias or activation. It is the
// same tiled implicit GEMM as the forward kernel, dX[m, n] = sum_k G[m, k] * F[k, n], with
//   m = (b*H + h)*W + w   M = batch*H*W
//   n = ci                N = C_in of the layer (3 for the first layer: per-element stores)
//   k = (ky*3 + kx)*C_out + co   K = 9*C_out
//
// Layouts (all f32, dense, row-major): dy and y NHWC [batch,H,W,C_out]; flipped [3,3,C_out,C_in];
// dx NHWC [batch,H,W,C_in].
//
// Bindings (group 0): 0 dy (read), 1 y (read, the forward output for the mask), 2 flipped (read),
// 3 dx (write), 4 Params (uniform). In Params, `c_in` is the channel count of dy (the gathered
// side) and `c_out` that of dx, so the names match the GEMM, not the layer.
//
// Work decomposition: the GEMM core kernels/conv3x3_gemm.wgsl, included at the end, shared with
// conv3x3_relu.wgsl (64 threads, 64x64 output tile, 8x8 register block per thread, TILE_K = 16 per
// barrier, 8 KiB of workgroup memory, pixel tiles flattened over the batch and folded over
// dispatch y/z); see there for why. This file supplies the masked gather and the plain store.

// RELU (override, default true): false drops the ReLU mask (g = dy: tfjs's Conv2DBackpropInput
// through the registered kernels, src/gpu/register.ts, whose caller has applied any mask already).
override RELU: bool = true;

@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> wt: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

// 4 consecutive k of the masked gradient g = dy * (y > 0) for pixel m, starting at k (zero past
// K or in the padding).
fn gather(m: u32, h: u32, w: u32, k: u32) -> vec4<f32> {
  var v = vec4<f32>(0.0);
  if ((p.c_in & 3u) == 0u) {
    // k is a multiple of 4 and so is C_in: the 4 values are consecutive channels of one tap.
    if (k < p.k_total) {
      let i = tap_index(m, h, w, k);
      if (i >= 0) {
        let u = u32(i);
        let d = vec4<f32>(dy[u], dy[u + 1u], dy[u + 2u], dy[u + 3u]);
        let live = vec4<f32>(y[u], y[u + 1u], y[u + 2u], y[u + 3u]) > vec4<f32>(0.0) |
          vec4<bool>(!RELU);
        v = select(vec4<f32>(0.0), d, live);
      }
    }
  } else {
    for (var j = 0u; j < 4u; j++) {
      if (k + j < p.k_total) {
        let i = tap_index(m, h, w, k + j);
        if (i >= 0) {
          v[j] = select(0.0, dy[u32(i)], y[u32(i)] > 0.0 || !RELU);
        }
      }
    }
  }
  return v;
}

// Store of 4 channels n..n+3 of pixel m of dx.
fn store(m: u32, n: u32, acc: vec4<f32>) {
  if (m >= p.m_total || n >= p.c_out) {
    return;
  }
  let o = m * p.c_out + n;
  if (n + 3u < p.c_out) {
    dx[o] = acc.x;
    dx[o + 1u] = acc.y;
    dx[o + 2u] = acc.z;
    dx[o + 3u] = acc.w;
  } else {
    for (var c = 0u; c < 4u && n + c < p.c_out; c++) {
      dx[o + c] = acc[c];
    }
  }
}

// #include conv3x3_gemm.wgsl
