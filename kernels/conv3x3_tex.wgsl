// conv3x3_tex.wgsl: the conv GEMM of conv3x3_relu.wgsl / conv3x3_grad_input.wgsl for CPU
// adapters (llvmpipe), reading both operands through textureLoad and keeping no workgroup memory.
//
// Computes, for GRAD = false (forward),
//   y[b,h,w,n] = max(0, bias[n] + sum_{ky,kx,ci} x[b, h+ky-1, w+kx-1, ci] * wt[ky,kx,ci,n])
// and for GRAD = true (input gradient of that layer; `src` = dy, `live` = the forward output y)
//   dx[b,h,w,n] = sum_{ky,kx,ci} g[b, h+ky-1, w+kx-1, ci] * wt[ky,kx,ci,n],  g = dy * (y > 0),
// with wt the flipped kernel [3,3,C_out,C_in] (see conv3x3_grad_input.wgsl). In both cases
// k = (ky*3 + kx)*C + ci indexes the rows of wt viewed as [K = 9*C, N].
//
// Why textures: on llvmpipe (Mesa 22.x) every storage-buffer or workgroup-memory load inside a
// loop is emitted as a per-lane scalar loop with a branch and a bounds check per component, about
// 60-90 ns per vec4 per invocation, while a textureLoad of an rgba32float texel is a branch-free
// gather (about 14 ns) and FMAs cost about 0.1 ns. So the kernel is shaped to minimise loads per
// FMA: no staging through workgroup memory (which would add a load and a store per value), and a
// register block of R = 16 pixels x 4*C4 = 16 channels per thread, i.e. 16 + 16 texel loads per
// 4 values of k feed 1024 FMAs (R = 8 measured 1.5x slower). Real GPUs keep the tiled
// workgroup-memory kernels.
//
// Layouts: src (and live) are the NHWC activations [batch,H,W,C] uploaded as an rgba32float
// texture of W*C/4 texels by batch*H rows (texel (w*C/4 + c/4, b*H + h) = channels c..c+3);
// wt is [K, N] as a texture of N/4 texels by K rows; bias [N] f32; out NHWC [batch,H,W,N] as vec4.
// The host requires C % 4 == 0 and N % 16 == 0 (and the 256-byte row alignment of
// copyBufferToTexture); for a forward pass from 1-3 channels (the image) it zero-pads x to 4
// channels and wt to 4 rows per tap. Gradients into <= 4 channels use conv3x3_tex_narrow.wgsl.
//
// Bindings (group 0): 0 src (texture), 1 live (texture; the forward pass binds src again),
// 2 wt (texture), 3 bias (read; the gradient binds a dummy), 4 out (write), 5 Params (uniform).
//
// Work decomposition: one thread per R x 16 output block and split-K slice, blocks numbered
// n-fastest so that the threads of a workgroup share their pixels; WG = 64 threads per workgroup
// (8 SIMD rounds of llvmpipe's 8 lanes); the linear thread index is folded over dispatch x and y.
// Split-K (GRAD only; the host uses it when there are few blocks, e.g. 4x4 or 8x8 pixels, so
// that more threads keep every core busy): slice s of `splits` covers the input channel groups
// [s*C/4/splits, (s+1)*C/4/splits) of every tap and writes its partial sum to out[s, m, n]
// (out is then [splits, batch*H*W, N]); the host adds the slices with sum_slices.wgsl. With
// splits = 1 (always for the forward pass, whose bias and ReLU must follow the full sum) out is
// [batch,H,W,N].

override GRAD: bool = false;
// RELU (default true): false drops the ReLU (forward) or the ReLU mask (GRAD): tfjs's Conv2D and
// Conv2DBackpropInput through the registered kernels (src/gpu/register.ts).
override RELU: bool = true;

override WG: u32; // threads per workgroup, set by the host (src/gpu/)
const R: u32 = 16u; // output pixels per thread
const C4: u32 = 4u; // vec4 groups of output channels per thread

struct Params {
  height: u32,
  width: u32,
  c: u32, // channels of src
  n: u32, // output channels
  m_total: u32, // batch * height * width
  n_blocks: u32, // n / (4 * C4)
  blocks: u32, // ceil(m_total / R) * n_blocks: threads per split-K slice
  splits: u32, // split-K slices (1 for the forward pass)
  threads: u32, // blocks * splits
}

@group(0) @binding(0) var src: texture_2d<f32>;
@group(0) @binding(1) var live: texture_2d<f32>;
@group(0) @binding(2) var wt: texture_2d<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(5) var<uniform> p: Params;

@compute @workgroup_size(WG, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * WG;
  if (t >= p.threads) {
    return;
  }
  let split = t / p.blocks;
  let tb = t - split * p.blocks;
  let n_blk = tb % p.n_blocks;
  let m0 = (tb / p.n_blocks) * R;
  let n4_0 = i32(n_blk * C4);
  let hw = p.height * p.width;
  let c4 = p.c / 4u;
  let ci4_lo = split * c4 / p.splits;
  let ci4_hi = (split + 1u) * c4 / p.splits;

  // Decode the R pixels once (past the end: clamped to the last pixel, never stored).
  var ph: array<i32, R>;
  var pw: array<i32, R>;
  var prow: array<i32, R>;
  for (var r = 0u; r < R; r++) {
    let m = min(m0 + r, p.m_total - 1u);
    let b = m / hw;
    let rem = m - b * hw;
    let h = rem / p.width;
    ph[r] = i32(h);
    pw[r] = i32(rem - h * p.width);
    prow[r] = i32(b * p.height);
  }

  var acc: array<vec4<f32>, R * C4>; // [r * C4 + c], zero-initialised
  for (var tap = 0u; tap < 9u; tap++) {
    let dy = i32(tap / 3u) - 1;
    let dx = i32(tap % 3u) - 1;
    var cx: array<i32, R>;
    var cy: array<i32, R>;
    var ok: array<bool, R>;
    for (var r = 0u; r < R; r++) {
      let ih = ph[r] + dy;
      let iw = pw[r] + dx;
      ok[r] = ih >= 0 && iw >= 0 && ih < i32(p.height) && iw < i32(p.width);
      cx[r] = select(0, iw * i32(c4), ok[r]);
      cy[r] = select(0, prow[r] + ih, ok[r]);
    }
    for (var ci4 = ci4_lo; ci4 < ci4_hi; ci4++) {
      let k = i32(tap * p.c + ci4 * 4u);
      var bw: array<vec4<f32>, 16>; // [j * C4 + c]: row k + j, channel group c
      for (var j = 0u; j < 4u; j++) {
        for (var c = 0u; c < C4; c++) {
          bw[j * C4 + c] = textureLoad(wt, vec2<i32>(n4_0 + i32(c), k + i32(j)), 0);
        }
      }
      for (var r = 0u; r < R; r++) {
        let at = vec2<i32>(cx[r] + i32(ci4), cy[r]);
        var a = textureLoad(src, at, 0);
        if (GRAD && RELU) {
          a = select(vec4<f32>(0.0), a, textureLoad(live, at, 0) > vec4<f32>(0.0));
        }
        a = select(vec4<f32>(0.0), a, ok[r]);
        for (var c = 0u; c < C4; c++) {
          acc[r * C4 + c] += a.x * bw[c] + a.y * bw[C4 + c] + a.z * bw[2u * C4 + c] +
            a.w * bw[3u * C4 + c];
        }
      }
    }
  }

  let n4 = p.n / 4u;
  let slice = split * p.m_total * n4;
  for (var r = 0u; r < R; r++) {
    let m = m0 + r;
    if (m < p.m_total) {
      for (var c = 0u; c < C4; c++) {
        let o = u32(n4_0) + c;
        var v = acc[r * C4 + c];
        if (!GRAD) {
          let n = o * 4u;
          v += vec4<f32>(bias[n], bias[n + 1u], bias[n + 2u], bias[n + 3u]);
          if (RELU) {
            v = max(v, vec4<f32>(0.0));
          }
        }
        out[slice + m * n4 + o] = v;
      }
    }
  }
}
