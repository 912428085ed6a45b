// gram_tex.wgsl: batched Gram matrices G = scale * F^T F for CPU adapters (llvmpipe), reading F
// through textureLoad and using no workgroup memory (why: see conv3x3_tex.wgsl).
//
// For each image b, F_b is [M, N] and G_b[i, j] = scale * sum_m F_b[m, i] * F_b[m, j]. G is
// symmetric: only the 16 x 16 blocks (bi, bj) with bi <= bj are computed, each by one thread, and
// an off-diagonal block is also written transposed into its mirror position.
//
// Split over M: with few blocks (N = 64 has 10) one thread per block would leave llvmpipe's cores
// and SIMD lanes idle over a long loop, so the host splits each image's rows into `splits` ranges
// of `rows_per_split`; range s of image b writes its partial Gram to slice b * splits + s of `out`,
// and sum_slices.wgsl (or style_diff.wgsl in the style loss) adds the slices. With splits = 1,
// `out` is G itself.
//
// Layouts: F [batch, M, N] (N % 4 == 0) is uploaded as an rgba32float texture in which texture row
// q holds the P consecutive rows g = q*P .. q*P+P-1 of F flattened over the batch (g = b*M + m):
// texel ((g % P) * N/4 + c/4, g / P) = F[g, c..c+3]. P (a power of two) keeps the texture within
// maxTextureDimension2D. out [batch * splits, N, N] is written as vec4.
//
// Bindings (group 0): 0 f (texture), 1 out (write, vec4), 2 Params (uniform).
//
// Work: thread t = (b * splits + s) * blocks_up + u owns upper block u (numbered row by row) of
// row range s of image b; per row of F it loads 4 + 4 texels and does 256 FMAs. WG = 64 threads; the linear thread index
// is folded over dispatch x and y.

const WG: u32 = 64u;
const B4: u32 = 4u; // vec4 groups per block edge (16 rows / columns)

struct Params {
  m: u32,
  n4: u32, // N / 4
  blocks: u32, // N / 16
  blocks_up: u32, // blocks * (blocks + 1) / 2
  threads: u32, // batch * splits * blocks_up
  p: u32, // rows of F per texture row
  splits: u32, // row ranges per image
  rows_per_split: u32,
  scale: f32,
}

@group(0) @binding(0) var f: texture_2d<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * WG;
  if (t >= p.threads) {
    return;
  }
  let slice = t / p.blocks_up;
  var u = t - slice * p.blocks_up;
  let b = slice / p.splits;
  let m_lo = (slice - b * p.splits) * p.rows_per_split;
  let m_hi = min(p.m, m_lo + p.rows_per_split);
  var bi = 0u;
  loop {
    let len = p.blocks - bi;
    if (u < len || bi + 1u >= p.blocks) {
      break;
    }
    u -= len;
    bi += 1u;
  }
  let bj = bi + u;
  let i4 = bi * B4;
  let j4 = bj * B4;

  // acc[r * 4 + c]: row i4*4 + r, columns (j4 + c)*4 .. +3.
  var acc: array<vec4<f32>, 64>;
  // Texel position of row m of image b, stepped without a division per row.
  let g0 = b * p.m + m_lo;
  var y = i32(g0 / p.p);
  var x0 = (g0 % p.p) * p.n4;
  let row_texels = p.p * p.n4;
  for (var m = m_lo; m < m_hi; m++) {
    var fi: array<vec4<f32>, B4>;
    var fj: array<vec4<f32>, B4>;
    for (var c = 0u; c < B4; c++) {
      fi[c] = textureLoad(f, vec2<i32>(i32(x0 + i4 + c), y), 0);
      fj[c] = textureLoad(f, vec2<i32>(i32(x0 + j4 + c), y), 0);
    }
    for (var r4 = 0u; r4 < B4; r4++) {
      let a = fi[r4];
      for (var c = 0u; c < B4; c++) {
        acc[(r4 * 4u) * B4 + c] += a.x * fj[c];
        acc[(r4 * 4u + 1u) * B4 + c] += a.y * fj[c];
        acc[(r4 * 4u + 2u) * B4 + c] += a.z * fj[c];
        acc[(r4 * 4u + 3u) * B4 + c] += a.w * fj[c];
      }
    }
    x0 += p.n4;
    if (x0 == row_texels) {
      x0 = 0u;
      y += 1;
    }
  }

  let n = p.n4 * 4u;
  let obase = slice * n;
  for (var r = 0u; r < 16u; r++) {
    for (var c = 0u; c < B4; c++) {
      out[(obase + i4 * 4u + r) * p.n4 + j4 + c] = acc[r * B4 + c] * p.scale;
    }
  }
  if (bi != bj) {
    // Mirror: row j, columns i..i+3 of the transposed block.
    for (var c = 0u; c < B4; c++) {
      for (var e = 0u; e < 4u; e++) {
        for (var r4 = 0u; r4 < B4; r4++) {
          let v = vec4<f32>(
            acc[(r4 * 4u) * B4 + c][e],
            acc[(r4 * 4u + 1u) * B4 + c][e],
            acc[(r4 * 4u + 2u) * B4 + c][e],
            acc[(r4 * 4u + 3u) * B4 + c][e],
          );
          out[(obase + (j4 + c) * 4u + e) * p.n4 + i4 + r4] = v * p.scale;
        }
      }
    }
  }
}
