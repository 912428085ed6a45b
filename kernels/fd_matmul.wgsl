// fd_matmul.wgsl: the gradient half of the fused style loss, dE/dF = F d for every image.
//
//   out[b, m, n] = sum_k f[b, m, k] * d[b, k, n]
// with d = (G - A) / (N^2 M^2) from style_diff.wgsl, so out is dE/dF of
// E = sum (G - A)^2 / (4 N^2 M^2) (d is symmetric, so F d = F d^T).
//
// Layouts (f32, dense, row-major): f [batch, M, N] and out [batch, M, N] as vec4 (N % 4 == 0);
// d [batch, N, N] as vec4.
//
// Bindings (group 0): 0 f (read), 1 d (read), 2 out (write), 3 Params (uniform).
// Dispatch: x = column tile (ceil(N / TILE_N)); the (image, row tile) pair is linear in
// wid.y + wid.z * num_workgroups.y, folded because batch * M / 64 can pass 65535.
//
// Tiles: 8 x 8 threads own a 64 x 64 block of out, each an 8 x 8 register block of the
// microkernel in gemm_core.wgsl (included at the end; it says why 8 x 8), K staged TILE_K = 16
// per barrier in two 4 KiB tiles. Every global load is one aligned vec4: a row of f holds 4
// consecutive k, a row of d 4 consecutive n.

const WG: u32 = 8u;
const WG_X: u32 = WG; // threads along n (gemm_core.wgsl's column slot stride)
const WG_Y: u32 = WG; // threads along m (its row slot stride)
const WG_SIZE: u32 = WG * WG;
const TILE_M: u32 = WG_Y * THREAD_M;
const TILE_N: u32 = WG_X * THREAD_N;
override TILE_K: u32; // reduction depth per barrier, set by the host (checked: 4 | TILE_K)
const TILE_M4: u32 = TILE_M / 4u;
const TILE_N4: u32 = TILE_N / 4u;
override TILE_K4: u32 = TILE_K / 4u;
override B_LOADS: u32 = TILE_K * TILE_N4 / WG_SIZE; // d vec4s a thread stages per K step
const_assert TILE_M == WG_SIZE; // each thread stages the TILE_K values of one row of f

struct Params {
  m: u32,
  n: u32,
  n4: u32,
  m_tiles: u32, // ceil(m / TILE_M)
  total_tiles: u32, // batch * m_tiles
}

@group(0) @binding(0) var<storage, read> f: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> d: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> p: Params;

fn store(b: u32, m: u32, n4: u32, v: vec4<f32>) {
  if (m < p.m && n4 < p.n4) {
    out[(b * p.m + m) * p.n4 + n4] = v;
  }
}

@compute @workgroup_size(WG, WG, 1)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(local_invocation_index) lidx: u32,
) {
  let linear = wid.y + wid.z * nwg.y;
  if (linear >= p.total_tiles) {
    return;
  }
  let b = linear / p.m_tiles;
  let m_base = (linear - b * p.m_tiles) * TILE_M;
  let n_base4 = wid.x * TILE_N4;
  let a_m = m_base + lidx;

  var acc: GemmAcc; // zeroed

  for (var k0 = 0u; k0 < p.n; k0 += TILE_K) {
    for (var g = 0u; g < TILE_K4; g++) {
      let k4 = k0 / 4u + g;
      var va = vec4<f32>(0.0);
      if (a_m < p.m && k4 < p.n4) {
        va = f[(b * p.m + a_m) * p.n4 + k4];
      }
      gemm_stage_a(g, lidx, va);
    }
    for (var g = 0u; g < B_LOADS; g++) {
      let flat = lidx + g * WG_SIZE;
      let kl = flat / TILE_N4;
      let n4 = flat - kl * TILE_N4;
      let k = k0 + kl;
      var vb = vec4<f32>(0.0);
      if (k < p.n && n_base4 + n4 < p.n4) {
        vb = d[(b * p.n + k) * p.n4 + n_base4 + n4];
      }
      b_tile[flat] = vb;
    }
    workgroupBarrier();

    gemm_k_slice(&acc, lid.y, lid.x);
    workgroupBarrier();
  }

  let m0 = m_base + lid.y * 4u;
  let m1 = m0 + WG_Y * 4u;
  let n0 = n_base4 + lid.x;
  let n1 = n0 + WG_X;
  store(b, m0, n0, acc.r00_0);
  store(b, m0, n1, acc.r00_1);
  store(b, m0 + 1u, n0, acc.r01_0);
  store(b, m0 + 1u, n1, acc.r01_1);
  store(b, m0 + 2u, n0, acc.r02_0);
  store(b, m0 + 2u, n1, acc.r02_1);
  store(b, m0 + 3u, n0, acc.r03_0);
  store(b, m0 + 3u, n1, acc.r03_1);
  store(b, m1, n0, acc.r10_0);
  store(b, m1, n1, acc.r10_1);
  store(b, m1 + 1u, n0, acc.r11_0);
  store(b, m1 + 1u, n1, acc.r11_1);
  store(b, m1 + 2u, n0, acc.r12_0);
  store(b, m1 + 2u, n1, acc.r12_1);
  store(b, m1 + 3u, n0, acc.r13_0);
  store(b, m1 + 3u, n1, acc.r13_1);
}

// #include gemm_core.wgsl
