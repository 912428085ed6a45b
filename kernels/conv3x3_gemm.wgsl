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
// This file declares Params (binding 4), the tile geometry, tap_index and the entry point; the
// register-blocked microkernel (workgroup tiles, 8 x 8 register block, the FMA loop over a K
// slice) is gemm_core.wgsl, included at the end.
//
// Tunables: WG_Y and TILE_K are `override`s the host sets from its kernel descriptor
// (src/gpu/conv.ts: 8 and 16 by default; `--kernels auto` times WG_Y in 4, 8, 16 x TILE_K in 8,
// 16, 32); the host checks 4 | TILE_K and WG_SIZE | TILE_K * TILE_N4. THREAD_M x THREAD_N = 8 x 8
// is fixed by gemm_core.wgsl's register block.
//
// Work decomposition: a workgroup of WG_X*WG_Y threads owns a TILE_M x TILE_N = 8*WG_Y x 64
// block of OUT, each thread an 8 x 8 register block (gemm_core.wgsl says why). The K loop stages
// TILE_K values of K per barrier: each thread gathers A for one pixel (TILE_K consecutive k) and
// B_LOADS vec4s of B. Output pixels are flattened over the batch, so small late layers (14x14) do
// not waste most of a tile per image; the tile index is folded over dispatch y and z because
// batch*H*W/TILE_M can exceed the 65535 workgroups a dimension allows.

const WG_X: u32 = 8u; // threads along output channels
override WG_Y: u32; // threads along output pixels (set by the host)
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

  var acc: GemmAcc; // pixel rows of the two row slots x the two channel slots, zeroed

  for (var k0 = 0u; k0 < p.k_total; k0 += TILE_K) {
    for (var g = 0u; g < K_GROUPS; g++) {
      var v = vec4<f32>(0.0);
      if (a_live) {
        v = gather(a_m, a_h, a_w, k0 + g * 4u);
      }
      gemm_stage_a(g, lidx, v);
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

    gemm_k_slice(&acc, lid.y, lid.x);
    workgroupBarrier();
  }

  let m0 = m_base + lid.y * 4u;
  let m1 = m0 + WG_Y * 4u;
  let n0 = n_base + lid.x * 4u;
  let n1 = n0 + WG_X * 4u;
  store(m0, n0, acc.r00_0);
  store(m0, n1, acc.r00_1);
  store(m0 + 1u, n0, acc.r01_0);
  store(m0 + 1u, n1, acc.r01_1);
  store(m0 + 2u, n0, acc.r02_0);
  store(m0 + 2u, n1, acc.r02_1);
  store(m0 + 3u, n0, acc.r03_0);
  store(m0 + 3u, n1, acc.r03_1);
  store(m1, n0, acc.r10_0);
  store(m1, n1, acc.r10_1);
  store(m1 + 1u, n0, acc.r11_0);
  store(m1 + 1u, n1, acc.r11_1);
  store(m1 + 2u, n0, acc.r12_0);
  store(m1 + 2u, n1, acc.r12_1);
  store(m1 + 3u, n0, acc.r13_0);
  store(m1 + 3u, n1, acc.r13_1);
}

// #include gemm_core.wgsl
