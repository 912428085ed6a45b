// conv3x3_gemm.wgsl: the tiled implicit-GEMM core both 3x3 convolution directions share.
//
// Included (`// #include conv3x3_gemm.wgsl`, expanded by src/gpu/wgsl.ts, which keeps error line
// numbers in this file) by conv3x3_relu.wgsl (forward: bias + ReLU) and conv3x3_grad_input.wgsl
// (input gradient: ReLU mask). It computes  OUT[m, n] = sum_k A[m, k] * B[k, n]  with
//   m = (b*H + h)*W + w          one output pixel            M = batch*H*W
//   n                            one output channel          N = c_out
//   k = (ky*3 + kx)*c_in + ci    one tap of one channel      K = 9*c_in
// where c_in is the gathered side's channel count. The includer declares bindings 0-3 (B is the
// storage array `wt`, [K, N] row-major) and provides
//   fn gather(m: u32, h: u32, w: u32, k: u32) -> vec4<f32>   4 consecutive k of A for pixel m
//   fn store(m: u32, n: u32, acc: vec4<f32>)                 the epilogue of 4 channels n..n+3
// This file declares Params (binding 4), the workgroup tiles, tap_index and the entry point.
//
// Tunables: WG_Y and TILE_K are `override`s the host sets from its kernel descriptor
// (src/gpu/conv.ts: 8 and 16); the host checks 4 | TILE_K and WG_SIZE | TILE_K * TILE_N4.
// THREAD_M x THREAD_N = 8 x 8 is fixed by the named register block in main.
//
// Work decomposition: a workgroup of WG_X*WG_Y = 64 threads owns a TILE_M x TILE_N = 64 x 64
// block of OUT. Each thread accumulates a THREAD_M x THREAD_N = 8 x 8 register block: two vec4 slots
// of 4 pixels and two of 4 channels, the slots 8 apart so that neighbouring threads read
// neighbouring 16-byte words of workgroup memory (no bank conflicts on GPUs). 4 vec4 reads of
// workgroup memory then feed 64 FMAs; that ratio is what matters most on every target measured
// (with 4 x 4 per thread, llvmpipe ran 2x slower). The K loop stages TILE_K = 16 values of K per
// barrier: A (64x16) and B (16x64) tiles are 4 KiB each, 8 KiB in all, well inside the 16 KiB
// WebGPU guarantees, so several workgroups fit on one compute unit. Each thread gathers A for one
// pixel (16 consecutive k) and 4 vec4s of B per K tile. Output pixels are flattened over the batch,
// so small late layers (14x14) do not waste most of a tile per image; the tile index is folded
// over dispatch y and z because batch*H*W/64 can exceed the 65535 workgroups a dimension allows.

const WG_X: u32 = 8u; // threads along output channels
override WG_Y: u32; // threads along output pixels (set by the host)
const THREAD_M: u32 = 8u; // pixels per thread: 2 vec4 slots, WG_Y slots apart
const THREAD_N: u32 = 8u; // channels per thread: 2 vec4 slots, WG_X slots apart
override TILE_K: u32; // reduction depth staged per barrier (set by the host)
override WG_SIZE: u32 = WG_X * WG_Y;
override TILE_M: u32 = WG_Y * THREAD_M; // output pixels per workgroup
const TILE_N: u32 = WG_X * THREAD_N; // 64 output channels per workgroup
override TILE_M4: u32 = TILE_M / 4u;
const TILE_N4: u32 = TILE_N / 4u;
override K_GROUPS: u32 = TILE_K / 4u; // 4-wide k groups a thread gathers for its pixel
override B_LOADS: u32 = TILE_K * TILE_N4 / WG_SIZE; // vec4s of B a thread stages per K tile
const_assert WG_X == THREAD_M; // TILE_M == WG_SIZE: the A gather gives each thread one pixel

struct Params {
  batch: u32,
  height: u32,
  width: u32,
  c_in: u32, // channels of the gathered side (x forward, dy for the gradient)
  c_out: u32, // channels of the output (y forward, dx for the gradient)
  m_total: u32, // batch * height * width
  k_total: u32, // 9 * c_in
  m_tiles: u32, // ceil(m_total / TILE_M)
}

@group(0) @binding(4) var<uniform> p: Params;

// a_tile[k][m / 4] holds A for 4 consecutive pixels; b_tile[k][n / 4] B for 4 channels.
var<workgroup> a_tile: array<vec4<f32>, TILE_K * TILE_M4>;
var<workgroup> b_tile: array<vec4<f32>, TILE_K * TILE_N4>;

// Index into the gathered array of tap k's neighbour of the flattened pixel m at (h, w), or -1
// in the padding.
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
