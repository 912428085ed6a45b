// fd_tex.wgsl: the gradient GEMM of the fused style loss, dE/dF = F d, for CPU adapters
// (llvmpipe), reading both operands through textureLoad and keeping no workgroup memory (why: see
// conv3x3_tex.wgsl). Same result as fd_matmul.wgsl:
//   out[b, m, n] = sum_k f[b, m, k] * d[b, k, n],   d = (G - A) / (N^2 M^2) from style_diff.wgsl.
//
// Layouts: f is the texture gram_tex.wgsl reads (F [batch, M, N] flattened over the batch, g =
// b*M + m, P rows of F per texture row: texel ((g % P) * N/4 + k/4, g / P) = F[g, k..k+3]); d
// [batch, N, N] is a texture of N/4 texels by batch*N rows (texel (n/4, b*N + k) = d[b, k, n..n+3]);
// out [batch, M, N] as vec4. The host requires N % 64 == 0 (copyBufferToTexture's 256-byte rows).
//
// Bindings (group 0): 0 f (texture), 1 d (texture), 2 out (write, vec4), 3 Params (uniform).
//
// Work: one thread per block of R = 16 rows x 16 columns of out (blocks numbered column-block
// fastest); per 4 values of k it loads 16 texels of d and R of f for 4 * 16 * R FMAs. The
// accumulators are named matrices, not an array, so that llvmpipe keeps them in registers (an
// array indexed in a loop becomes per-lane memory). Rows past M are clamped on load and not stored.
// WG = 64 threads; the linear thread index is folded over dispatch x and y.

override WG: u32; // threads per workgroup, set by the host (src/gpu/)
const R: u32 = 16u; // rows (and columns) of out per thread: the 16 named accumulators below

struct Params {
  m: u32,
  n4: u32, // N / 4
  p: u32, // rows of F per texture row
  r_blocks: u32, // ceil(M / 16)
  n_blocks: u32, // N / 16
  threads: u32, // batch * r_blocks * n_blocks
}

@group(0) @binding(0) var f: texture_2d<f32>;
@group(0) @binding(1) var d: texture_2d<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> p: Params;

// Texel of row m of image b in f (column of its first 4 channels, texture row).
fn row_texel(b: u32, m: u32) -> vec2<i32> {
  let g = b * p.m + m;
  return vec2<i32>(i32((g % p.p) * p.n4), i32(g / p.p));
}

// Store row m of out, columns (c4 + c) * 4 .. +3 from column c of v, if m is a row of F.
fn store(b: u32, m: u32, c4: u32, v: mat4x4<f32>) {
  if (m < p.m) {
    let o = (b * p.m + m) * p.n4 + c4;
    out[o] = v[0];
    out[o + 1u] = v[1];
    out[o + 2u] = v[2];
    out[o + 3u] = v[3];
  }
}

@compute @workgroup_size(WG, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * WG;
  if (t >= p.threads) {
    return;
  }
  let n_blk = t % p.n_blocks;
  let rb = t / p.n_blocks;
  let b = rb / p.r_blocks;
  let m0 = (rb - b * p.r_blocks) * R;
  let n4_0 = n_blk * 4u;
  let cx = i32(n4_0);
  let d_row = i32(b * p.n4 * 4u);

  let r0 = row_texel(b, min(m0 + 0u, p.m - 1u));
  let r1 = row_texel(b, min(m0 + 1u, p.m - 1u));
  let r2 = row_texel(b, min(m0 + 2u, p.m - 1u));
  let r3 = row_texel(b, min(m0 + 3u, p.m - 1u));
  let r4 = row_texel(b, min(m0 + 4u, p.m - 1u));
  let r5 = row_texel(b, min(m0 + 5u, p.m - 1u));
  let r6 = row_texel(b, min(m0 + 6u, p.m - 1u));
  let r7 = row_texel(b, min(m0 + 7u, p.m - 1u));
  let r8 = row_texel(b, min(m0 + 8u, p.m - 1u));
  let r9 = row_texel(b, min(m0 + 9u, p.m - 1u));
  let r10 = row_texel(b, min(m0 + 10u, p.m - 1u));
  let r11 = row_texel(b, min(m0 + 11u, p.m - 1u));
  let r12 = row_texel(b, min(m0 + 12u, p.m - 1u));
  let r13 = row_texel(b, min(m0 + 13u, p.m - 1u));
  let r14 = row_texel(b, min(m0 + 14u, p.m - 1u));
  let r15 = row_texel(b, min(m0 + 15u, p.m - 1u));

  // acc<r>: row m0 + r of out; column c holds channels (n4_0 + c) * 4 .. +3.
  var acc0 = mat4x4<f32>();
  var acc1 = mat4x4<f32>();
  var acc2 = mat4x4<f32>();
  var acc3 = mat4x4<f32>();
  var acc4 = mat4x4<f32>();
  var acc5 = mat4x4<f32>();
  var acc6 = mat4x4<f32>();
  var acc7 = mat4x4<f32>();
  var acc8 = mat4x4<f32>();
  var acc9 = mat4x4<f32>();
  var acc10 = mat4x4<f32>();
  var acc11 = mat4x4<f32>();
  var acc12 = mat4x4<f32>();
  var acc13 = mat4x4<f32>();
  var acc14 = mat4x4<f32>();
  var acc15 = mat4x4<f32>();

  for (var k4 = 0; k4 < i32(p.n4); k4++) {
    // w<j>: row k4*4 + j of d, column c = channels (n4_0 + c) * 4 .. +3.
    let kr = d_row + k4 * 4;
    let w0 = mat4x4<f32>(
      textureLoad(d, vec2<i32>(cx, kr), 0),
      textureLoad(d, vec2<i32>(cx + 1, kr), 0),
      textureLoad(d, vec2<i32>(cx + 2, kr), 0),
      textureLoad(d, vec2<i32>(cx + 3, kr), 0),
    );
    let w1 = mat4x4<f32>(
      textureLoad(d, vec2<i32>(cx, kr + 1), 0),
      textureLoad(d, vec2<i32>(cx + 1, kr + 1), 0),
      textureLoad(d, vec2<i32>(cx + 2, kr + 1), 0),
      textureLoad(d, vec2<i32>(cx + 3, kr + 1), 0),
    );
    let w2 = mat4x4<f32>(
      textureLoad(d, vec2<i32>(cx, kr + 2), 0),
      textureLoad(d, vec2<i32>(cx + 1, kr + 2), 0),
      textureLoad(d, vec2<i32>(cx + 2, kr + 2), 0),
      textureLoad(d, vec2<i32>(cx + 3, kr + 2), 0),
    );
    let w3 = mat4x4<f32>(
      textureLoad(d, vec2<i32>(cx, kr + 3), 0),
      textureLoad(d, vec2<i32>(cx + 1, kr + 3), 0),
      textureLoad(d, vec2<i32>(cx + 2, kr + 3), 0),
      textureLoad(d, vec2<i32>(cx + 3, kr + 3), 0),
    );
    let a0 = textureLoad(f, vec2<i32>(r0.x + k4, r0.y), 0);
    acc0 += w0 * a0.x + w1 * a0.y + w2 * a0.z + w3 * a0.w;
    let a1 = textureLoad(f, vec2<i32>(r1.x + k4, r1.y), 0);
    acc1 += w0 * a1.x + w1 * a1.y + w2 * a1.z + w3 * a1.w;
    let a2 = textureLoad(f, vec2<i32>(r2.x + k4, r2.y), 0);
    acc2 += w0 * a2.x + w1 * a2.y + w2 * a2.z + w3 * a2.w;
    let a3 = textureLoad(f, vec2<i32>(r3.x + k4, r3.y), 0);
    acc3 += w0 * a3.x + w1 * a3.y + w2 * a3.z + w3 * a3.w;
    let a4 = textureLoad(f, vec2<i32>(r4.x + k4, r4.y), 0);
    acc4 += w0 * a4.x + w1 * a4.y + w2 * a4.z + w3 * a4.w;
    let a5 = textureLoad(f, vec2<i32>(r5.x + k4, r5.y), 0);
    acc5 += w0 * a5.x + w1 * a5.y + w2 * a5.z + w3 * a5.w;
    let a6 = textureLoad(f, vec2<i32>(r6.x + k4, r6.y), 0);
    acc6 += w0 * a6.x + w1 * a6.y + w2 * a6.z + w3 * a6.w;
    let a7 = textureLoad(f, vec2<i32>(r7.x + k4, r7.y), 0);
    acc7 += w0 * a7.x + w1 * a7.y + w2 * a7.z + w3 * a7.w;
    let a8 = textureLoad(f, vec2<i32>(r8.x + k4, r8.y), 0);
    acc8 += w0 * a8.x + w1 * a8.y + w2 * a8.z + w3 * a8.w;
    let a9 = textureLoad(f, vec2<i32>(r9.x + k4, r9.y), 0);
    acc9 += w0 * a9.x + w1 * a9.y + w2 * a9.z + w3 * a9.w;
    let a10 = textureLoad(f, vec2<i32>(r10.x + k4, r10.y), 0);
    acc10 += w0 * a10.x + w1 * a10.y + w2 * a10.z + w3 * a10.w;
    let a11 = textureLoad(f, vec2<i32>(r11.x + k4, r11.y), 0);
    acc11 += w0 * a11.x + w1 * a11.y + w2 * a11.z + w3 * a11.w;
    let a12 = textureLoad(f, vec2<i32>(r12.x + k4, r12.y), 0);
    acc12 += w0 * a12.x + w1 * a12.y + w2 * a12.z + w3 * a12.w;
    let a13 = textureLoad(f, vec2<i32>(r13.x + k4, r13.y), 0);
    acc13 += w0 * a13.x + w1 * a13.y + w2 * a13.z + w3 * a13.w;
    let a14 = textureLoad(f, vec2<i32>(r14.x + k4, r14.y), 0);
    acc14 += w0 * a14.x + w1 * a14.y + w2 * a14.z + w3 * a14.w;
    let a15 = textureLoad(f, vec2<i32>(r15.x + k4, r15.y), 0);
    acc15 += w0 * a15.x + w1 * a15.y + w2 * a15.z + w3 * a15.w;
  }

  store(b, m0 + 0u, n4_0, acc0);
  store(b, m0 + 1u, n4_0, acc1);
  store(b, m0 + 2u, n4_0, acc2);
  store(b, m0 + 3u, n4_0, acc3);
  store(b, m0 + 4u, n4_0, acc4);
  store(b, m0 + 5u, n4_0, acc5);
  store(b, m0 + 6u, n4_0, acc6);
  store(b, m0 + 7u, n4_0, acc7);
  store(b, m0 + 8u, n4_0, acc8);
  store(b, m0 + 9u, n4_0, acc9);
  store(b, m0 + 10u, n4_0, acc10);
  store(b, m0 + 11u, n4_0, acc11);
  store(b, m0 + 12u, n4_0, acc12);
  store(b, m0 + 13u, n4_0, acc13);
  store(b, m0 + 14u, n4_0, acc14);
  store(b, m0 + 15u, n4_0, acc15);
}
