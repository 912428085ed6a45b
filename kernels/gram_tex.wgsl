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
// row range s of image b; per row of F it loads 4 + 4 texels and does 256 FMAs into 16 named
// mat4x4 accumulators (an array indexed in loops became per-lane memory on llvmpipe, 3-4x slower).
// WG = 64 threads; the linear thread index is folded over dispatch x and y.

override WG: u32; // threads per workgroup, set by the host (src/gpu/)
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

// The outer product a b^T as a matrix whose column e is a[e] * b.
fn outer(a: vec4<f32>, b: vec4<f32>) -> mat4x4<f32> {
  return mat4x4<f32>(a.x * b, a.y * b, a.z * b, a.w * b);
}

// Store the 4x4 sub-block of G at vec4 row group r4, vec4 column c4 (columns of `v` are rows of G),
// and with `mirror` also its transpose at row group c4, column r4, both scaled.
fn store(obase: u32, r4: u32, c4: u32, v: mat4x4<f32>, mirror: bool) {
  for (var e = 0u; e < 4u; e++) {
    out[(obase + r4 * 4u + e) * p.n4 + c4] = v[e] * p.scale;
  }
  if (mirror) {
    let t = transpose(v);
    for (var e = 0u; e < 4u; e++) {
      out[(obase + c4 * 4u + e) * p.n4 + r4] = t[e] * p.scale;
    }
  }
}

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

  // a<r><c>: column e is row (i4 + r) * 4 + e of G, columns (j4 + c) * 4 .. +3 (named, not an
  // array, so that llvmpipe keeps them in registers instead of per-lane indexed memory).
  var a00 = mat4x4<f32>();
  var a01 = mat4x4<f32>();
  var a02 = mat4x4<f32>();
  var a03 = mat4x4<f32>();
  var a10 = mat4x4<f32>();
  var a11 = mat4x4<f32>();
  var a12 = mat4x4<f32>();
  var a13 = mat4x4<f32>();
  var a20 = mat4x4<f32>();
  var a21 = mat4x4<f32>();
  var a22 = mat4x4<f32>();
  var a23 = mat4x4<f32>();
  var a30 = mat4x4<f32>();
  var a31 = mat4x4<f32>();
  var a32 = mat4x4<f32>();
  var a33 = mat4x4<f32>();
  // Texel position of row m of image b, stepped without a division per row.
  let g0 = b * p.m + m_lo;
  var y = i32(g0 / p.p);
  var x0 = (g0 % p.p) * p.n4;
  let row_texels = p.p * p.n4;
  for (var m = m_lo; m < m_hi; m++) {
    let x = i32(x0);
    let fi0 = textureLoad(f, vec2<i32>(x + i32(i4 + 0u), y), 0);
    let fi1 = textureLoad(f, vec2<i32>(x + i32(i4 + 1u), y), 0);
    let fi2 = textureLoad(f, vec2<i32>(x + i32(i4 + 2u), y), 0);
    let fi3 = textureLoad(f, vec2<i32>(x + i32(i4 + 3u), y), 0);
    let fj0 = textureLoad(f, vec2<i32>(x + i32(j4 + 0u), y), 0);
    let fj1 = textureLoad(f, vec2<i32>(x + i32(j4 + 1u), y), 0);
    let fj2 = textureLoad(f, vec2<i32>(x + i32(j4 + 2u), y), 0);
    let fj3 = textureLoad(f, vec2<i32>(x + i32(j4 + 3u), y), 0);
    a00 += outer(fi0, fj0);
    a01 += outer(fi0, fj1);
    a02 += outer(fi0, fj2);
    a03 += outer(fi0, fj3);
    a10 += outer(fi1, fj0);
    a11 += outer(fi1, fj1);
    a12 += outer(fi1, fj2);
    a13 += outer(fi1, fj3);
    a20 += outer(fi2, fj0);
    a21 += outer(fi2, fj1);
    a22 += outer(fi2, fj2);
    a23 += outer(fi2, fj3);
    a30 += outer(fi3, fj0);
    a31 += outer(fi3, fj1);
    a32 += outer(fi3, fj2);
    a33 += outer(fi3, fj3);
    x0 += p.n4;
    if (x0 == row_texels) {
      x0 = 0u;
      y += 1;
    }
  }

  let obase = slice * p.n4 * 4u;
  let mirror = bi != bj;
  store(obase, i4 + 0u, j4 + 0u, a00, mirror);
  store(obase, i4 + 0u, j4 + 1u, a01, mirror);
  store(obase, i4 + 0u, j4 + 2u, a02, mirror);
  store(obase, i4 + 0u, j4 + 3u, a03, mirror);
  store(obase, i4 + 1u, j4 + 0u, a10, mirror);
  store(obase, i4 + 1u, j4 + 1u, a11, mirror);
  store(obase, i4 + 1u, j4 + 2u, a12, mirror);
  store(obase, i4 + 1u, j4 + 3u, a13, mirror);
  store(obase, i4 + 2u, j4 + 0u, a20, mirror);
  store(obase, i4 + 2u, j4 + 1u, a21, mirror);
  store(obase, i4 + 2u, j4 + 2u, a22, mirror);
  store(obase, i4 + 2u, j4 + 3u, a23, mirror);
  store(obase, i4 + 3u, j4 + 0u, a30, mirror);
  store(obase, i4 + 3u, j4 + 1u, a31, mirror);
  store(obase, i4 + 3u, j4 + 2u, a32, mirror);
  store(obase, i4 + 3u, j4 + 3u, a33, mirror);
}
