// gram.wgsl: batched Gram matrices G = scale * F^T F, using G's symmetry, optionally split over M.
//
// For each image b, F_b is [M, N] (M = H*W pixels, N channels) and
//   G_b[i, j] = scale * sum_m F_b[m, i] * F_b[m, j].
// G is symmetric, so only the TILE x TILE blocks on or above the diagonal are computed; an
// off-diagonal block is written twice, as itself and transposed into its mirror position. That
// halves the work for N = 512 (36 of 64 blocks) and is free for N = 64 (one diagonal block).
//
// Split over M: with few blocks (N = 64 has one) a Gram over M = 512*512 rows would run on a single
// workgroup. The host therefore splits the rows into `splits` ranges of `rows_per_split`; range s of
// image b writes its partial Gram to slice (b * splits + s) of `out`, and sum_slices.wgsl (or the
// style-loss kernel) adds the slices. With splits = 1, `out` is G itself.
//
// Layouts (f32, dense, row-major): f [batch, M, N] read as vec4 (N % 4 == 0, so every row starts on
// a 16-byte boundary and each thread's load is one 16-byte vector); out [batch * splits, N, N].
//
// Bindings (group 0): 0 f (read, vec4), 1 out (write, vec4), 2 Params (uniform).
// Dispatch: x = upper-triangle block index (blocks*(blocks+1)/2), y = split, z = image.
//
// Tiles: a workgroup of 8 x 8 threads owns one TILE x TILE = 64 x 64 block, each thread an 8 x 8
// register block of the microkernel in gemm_core.wgsl (included at the end; it says why 8 x 8),
// with A = F^T restricted to block row bi's columns and B = F restricted to block column bj's:
// both tiles are rows of F, so every load is one vec4 of a row. Rows of F are staged TILE_K = 16
// at a time: 4 vec4 loads per thread per operand, 2 x 4 KiB of workgroup memory. A diagonal
// block's two operands are the same columns of F, so it loads them once and stages them twice.

const WG: u32 = 8u; // threads per side of the workgroup
const WG_X: u32 = WG; // threads along j (gemm_core.wgsl's column slot stride)
const WG_Y: u32 = WG; // threads along i (its row slot stride)
const WG_SIZE: u32 = WG * WG;
const TILE: u32 = WG * THREAD_M; // G block edge: 8 threads x 8 register rows/columns
const TILE4: u32 = TILE / 4u;
const TILE_M4: u32 = TILE4;
const TILE_N4: u32 = TILE4;
override TILE_K: u32; // rows of F per barrier, set by the host (WG_SIZE | TILE_K * TILE4, checked)
override LOADS: u32 = TILE_K * TILE4 / WG_SIZE; // vec4s a thread stages per operand per step
const_assert THREAD_M == THREAD_N; // square blocks, so that a block can be mirrored

struct Params {
  m: u32, // rows of F per image
  n: u32, // channels
  n4: u32, // n / 4
  blocks: u32, // ceil(n / TILE)
  splits: u32, // row ranges per image
  rows_per_split: u32,
  scale: f32,
}

@group(0) @binding(0) var<storage, read> f: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> p: Params;

// Write the 4x4 sub-block whose rows i0..i0+3 are r0..r3 (each a vec4 of columns j4*4..j4*4+3),
// and with `mirror` also its transpose at rows j4*4.. and columns i0.., both times scaled.
fn store_block(obase: u32, i0: u32, j4: u32, r0: vec4<f32>, r1: vec4<f32>, r2: vec4<f32>,
               r3: vec4<f32>, mirror: bool) {
  if (j4 < p.n4) {
    if (i0 < p.n) {
      out[(obase + i0) * p.n4 + j4] = r0 * p.scale;
      out[(obase + i0 + 1u) * p.n4 + j4] = r1 * p.scale;
      out[(obase + i0 + 2u) * p.n4 + j4] = r2 * p.scale;
      out[(obase + i0 + 3u) * p.n4 + j4] = r3 * p.scale;
    }
  }
  if (mirror && i0 < p.n && j4 < p.n4) {
    let j0 = j4 * 4u;
    let i4 = i0 / 4u;
    out[(obase + j0) * p.n4 + i4] = vec4<f32>(r0.x, r1.x, r2.x, r3.x) * p.scale;
    out[(obase + j0 + 1u) * p.n4 + i4] = vec4<f32>(r0.y, r1.y, r2.y, r3.y) * p.scale;
    out[(obase + j0 + 2u) * p.n4 + i4] = vec4<f32>(r0.z, r1.z, r2.z, r3.z) * p.scale;
    out[(obase + j0 + 3u) * p.n4 + i4] = vec4<f32>(r0.w, r1.w, r2.w, r3.w) * p.scale;
  }
}

@compute @workgroup_size(WG, WG, 1)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(local_invocation_index) lidx: u32,
) {
  // Upper-triangle block number -> (bi, bj) with bi <= bj, row by row.
  var t = wid.x;
  var bi = 0u;
  loop {
    let len = p.blocks - bi;
    if (t < len || bi + 1u >= p.blocks) {
      break;
    }
    t -= len;
    bi += 1u;
  }
  let bj = bi + t;
  let diagonal = bi == bj;
  let s = wid.y;
  let b = wid.z;

  let row_start = s * p.rows_per_split;
  let row_end = min(p.m, row_start + p.rows_per_split);

  var acc: GemmAcc; // zeroed

  for (var r0 = row_start; r0 < row_end; r0 += TILE_K) {
    // a_tile[k][i / 4]: F's columns of block row bi; b_tile the same for block column bj.
    for (var g = 0u; g < LOADS; g++) {
      let flat = lidx + g * WG_SIZE;
      let kl = flat / TILE4;
      let c4 = flat - kl * TILE4;
      let r = r0 + kl;
      let base = (b * p.m + r) * p.n4;
      let ci4 = bi * TILE4 + c4;
      let cj4 = bj * TILE4 + c4;
      var vi = vec4<f32>(0.0);
      var vj = vec4<f32>(0.0);
      if (r < row_end) {
        if (ci4 < p.n4) {
          vi = f[base + ci4];
        }
        if (diagonal) {
          vj = vi;
        } else if (cj4 < p.n4) {
          vj = f[base + cj4];
        }
      }
      a_tile[flat] = vi;
      b_tile[flat] = vj;
    }
    workgroupBarrier();
    gemm_k_slice(&acc, lid.y, lid.x);
    workgroupBarrier();
  }

  let obase = (b * p.splits + s) * p.n;
  let i0 = bi * TILE + lid.y * 4u;
  let i1 = i0 + WG_Y * 4u;
  let j0 = bj * TILE4 + lid.x;
  let j1 = j0 + WG_X;
  let mirror = !diagonal;
  store_block(obase, i0, j0, acc.r00_0, acc.r01_0, acc.r02_0, acc.r03_0, mirror);
  store_block(obase, i0, j1, acc.r00_1, acc.r01_1, acc.r02_1, acc.r03_1, mirror);
  store_block(obase, i1, j0, acc.r10_0, acc.r11_0, acc.r12_0, acc.r13_0, mirror);
  store_block(obase, i1, j1, acc.r10_1, acc.r11_1, acc.r12_1, acc.r13_1, mirror);
}

// #include gemm_core.wgsl
