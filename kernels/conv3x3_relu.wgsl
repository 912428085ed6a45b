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
// Work decomposition: a workgroup of WG_X*WG_Y = 64 threads owns a TILE_M x TILE_N = 64 x 64
// block of Y. Each thread accumulates a THREAD_M x THREAD_N = 8 x 8 register block: two vec4 slots
// of 4 pixels and two of 4 channels, the slots 8 apart so that neighbouring threads read
// neighbouring 16-byte words of workgroup memory (no bank conflicts on GPUs). 4 vec4 reads of
// workgroup memory then feed 64 FMAs; that ratio is what matters most on every target measured
// (with 4 x 4 per thread, llvmpipe ran 2x slower). The K loop stages TILE_K = 16 values of K per
// barrier: A (64x16) and B (16x64) tiles are 4 KiB each, 8 KiB in all, well inside the 16 KiB
// WebGPU guarantees, so several workgroups fit on one compute unit. Each thread gathers A for one
// pixel (16 consecutive k) and 4 vec4s of B per K tile. Output pixels are flattened over the batch,
// so small late layers (14x14) do not waste most of a tile per image; the tile index is folded
// over dispatch y and z because batch*H*W/64 can exceed the 65535 workgroups a dimension allows.
// C_in = 3 (the first layer) takes a per-element gather; C_in % 4 == 0 gathers 4 consecutive
// channels of one tap at a time (a 16-byte contiguous read).

const WG_X: u32 = 8u; // threads along output channels
const WG_Y: u32 = 8u; // threads along output pixels
const WG_SIZE: u32 = WG_X * WG_Y;
const THREAD_M: u32 = 8u; // pixels per thread: 2 vec4 slots, WG_Y slots apart
const THREAD_N: u32 = 8u; // channels per thread: 2 vec4 slots, WG_X slots apart
const TILE_M: u32 = WG_Y * THREAD_M; // 64 output pixels per workgroup
const TILE_N: u32 = WG_X * THREAD_N; // 64 output channels per workgroup
const TILE_K: u32 = 16u; // reduction depth staged per barrier
const TILE_M4: u32 = TILE_M / 4u;
const TILE_N4: u32 = TILE_N / 4u;
const K_GROUPS: u32 = TILE_K / 4u; // 4-wide k groups a thread gathers for its pixel
const B_LOADS: u32 = TILE_K * TILE_N4 / WG_SIZE; // vec4s of B a thread stages per K tile
const_assert TILE_M == WG_SIZE; // the A gather gives each thread exactly one pixel
const_assert B_LOADS * WG_SIZE == TILE_K * TILE_N4;

struct Params {
  batch: u32,
  height: u32,
  width: u32,
  c_in: u32,
  c_out: u32,
  m_total: u32, // batch * height * width
  k_total: u32, // 9 * c_in
  m_tiles: u32, // ceil(m_total / TILE_M)
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> wt: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

// a_tile[k][m / 4] holds A for 4 consecutive pixels; b_tile[k][n / 4] B for 4 channels.
var<workgroup> a_tile: array<vec4<f32>, TILE_K * TILE_M4>;
var<workgroup> b_tile: array<vec4<f32>, TILE_K * TILE_N4>;

// Index into x of tap k's neighbour of the flattened pixel m at (h, w), or -1 in the padding.
fn tap_index(m: u32, h: u32, w: u32, k: u32) -> i32 {
  let tap = k / p.c_in;
  let ci = k - tap * p.c_in;
  let ky = tap / 3u;
  let kx = tap - ky * 3u;
  let ih = i32(h) + i32(ky) - 1;
  let iw = i32(w) + i32(kx) - 1;
  if (ih < 0 || iw < 0 || ih >= i32(p.height) || iw >= i32(p.width)) {
    return -1;
  }
  let pix = i32(m) + (i32(ky) - 1) * i32(p.width) + (i32(kx) - 1);
  return pix * i32(p.c_in) + i32(ci);
}

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
    let v = max(acc + vec4<f32>(bias[n], bias[n + 1u], bias[n + 2u], bias[n + 3u]), vec4<f32>(0.0));
    y[o] = v.x;
    y[o + 1u] = v.y;
    y[o + 2u] = v.z;
    y[o + 3u] = v.w;
  } else {
    for (var c = 0u; c < 4u && n + c < p.c_out; c++) {
      y[o + c] = max(acc[c] + bias[n + c], 0.0);
    }
  }
}

@compute @workgroup_size(WG_X, WG_Y, 1)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(local_invocation_index) lidx: u32,
) {
  let m_tile = wid.y + wid.z * nwg.y;
  if (m_tile >= p.m_tiles) {
    return; // whole workgroup leaves together, so the barriers below stay uniform
  }
  let m_base = m_tile * TILE_M;
  let n_base = wid.x * TILE_N;

  // The pixel this thread gathers A for is fixed over the K loop: decode it once.
  let a_m = m_base + lidx;
  let a_rem = a_m % (p.height * p.width);
  let a_h = a_rem / p.width;
  let a_w = a_rem - a_h * p.width;
  let a_live = a_m < p.m_total;
  let a_slot = lidx / 4u;
  let a_lane = lidx % 4u;

  // Register block: pixel rows r of slot 0 (acc0r_*) and slot 1 (acc1r_*), channel slots _0, _1.
  // Named values, not an array, so no compiler has to prove indices constant to keep registers.
  var acc00_0 = vec4<f32>(0.0);
  var acc00_1 = vec4<f32>(0.0);
  var acc01_0 = vec4<f32>(0.0);
  var acc01_1 = vec4<f32>(0.0);
  var acc02_0 = vec4<f32>(0.0);
  var acc02_1 = vec4<f32>(0.0);
  var acc03_0 = vec4<f32>(0.0);
  var acc03_1 = vec4<f32>(0.0);
  var acc10_0 = vec4<f32>(0.0);
  var acc10_1 = vec4<f32>(0.0);
  var acc11_0 = vec4<f32>(0.0);
  var acc11_1 = vec4<f32>(0.0);
  var acc12_0 = vec4<f32>(0.0);
  var acc12_1 = vec4<f32>(0.0);
  var acc13_0 = vec4<f32>(0.0);
  var acc13_1 = vec4<f32>(0.0);

  for (var k0 = 0u; k0 < p.k_total; k0 += TILE_K) {
    for (var g = 0u; g < K_GROUPS; g++) {
      var v = vec4<f32>(0.0);
      if (a_live) {
        v = gather(a_m, a_h, a_w, k0 + g * 4u);
      }
      let row = g * 4u * TILE_M4 + a_slot;
      a_tile[row][a_lane] = v.x;
      a_tile[row + TILE_M4][a_lane] = v.y;
      a_tile[row + 2u * TILE_M4][a_lane] = v.z;
      a_tile[row + 3u * TILE_M4][a_lane] = v.w;
    }
    for (var g = 0u; g < B_LOADS; g++) {
      let flat = lidx + g * WG_SIZE;
      let kl = flat / TILE_N4;
      let n4 = flat - kl * TILE_N4;
      let k = k0 + kl;
      let n = n_base + n4 * 4u;
      var v = vec4<f32>(0.0);
      if (k < p.k_total) {
        let row = k * p.c_out;
        if (n + 3u < p.c_out) {
          v = vec4<f32>(wt[row + n], wt[row + n + 1u], wt[row + n + 2u], wt[row + n + 3u]);
        } else {
          for (var j = 0u; j < 4u && n + j < p.c_out; j++) {
            v[j] = wt[row + n + j];
          }
        }
      }
      b_tile[kl * TILE_N4 + n4] = v;
    }
    workgroupBarrier();

    for (var kk = 0u; kk < TILE_K; kk++) {
      // Slots WG_X (WG_Y) apart: neighbouring threads read neighbouring vec4s.
      let a0 = a_tile[kk * TILE_M4 + lid.y];
      let a1 = a_tile[kk * TILE_M4 + lid.y + WG_Y];
      let b0 = b_tile[kk * TILE_N4 + lid.x];
      let b1 = b_tile[kk * TILE_N4 + lid.x + WG_X];
      acc00_0 += a0.x * b0;
      acc00_1 += a0.x * b1;
      acc01_0 += a0.y * b0;
      acc01_1 += a0.y * b1;
      acc02_0 += a0.z * b0;
      acc02_1 += a0.z * b1;
      acc03_0 += a0.w * b0;
      acc03_1 += a0.w * b1;
      acc10_0 += a1.x * b0;
      acc10_1 += a1.x * b1;
      acc11_0 += a1.y * b0;
      acc11_1 += a1.y * b1;
      acc12_0 += a1.z * b0;
      acc12_1 += a1.z * b1;
      acc13_0 += a1.w * b0;
      acc13_1 += a1.w * b1;
    }
    workgroupBarrier();
  }

  let m0 = m_base + lid.y * 4u;
  let m1 = m0 + WG_Y * 4u;
  let n0 = n_base + lid.x * 4u;
  let n1 = n0 + WG_X * 4u;
  store(m0, n0, acc00_0);
  store(m0, n1, acc00_1);
  store(m0 + 1u, n0, acc01_0);
  store(m0 + 1u, n1, acc01_1);
  store(m0 + 2u, n0, acc02_0);
  store(m0 + 2u, n1, acc02_1);
  store(m0 + 3u, n0, acc03_0);
  store(m0 + 3u, n1, acc03_1);
  store(m1, n0, acc10_0);
  store(m1, n1, acc10_1);
  store(m1 + 1u, n0, acc11_0);
  store(m1 + 1u, n1, acc11_1);
  store(m1 + 2u, n0, acc12_0);
  store(m1 + 2u, n1, acc12_1);
  store(m1 + 3u, n0, acc13_0);
  store(m1 + 3u, n1, acc13_1);
}
