// conv3x3_tex_narrow.wgsl: conv3x3_grad_input_narrow.wgsl for CPU adapters (llvmpipe), reading
// dy, y and the weights through textureLoad (see conv3x3_tex.wgsl for why) and keeping no
// workgroup memory: the gradient with respect to the image itself (C_in = 3 of VGG's first layer).
//
// Computes
//   dx[b,h,w,ci] = sum_{ky,kx,co} g[b, h+ky-1, w+kx-1, co] * flipped[ky,kx,co,ci],  g = dy * (y > 0)
// for at most 4 output channels ci, zero-padded to one vec4. Each thread keeps a register block
// of R = 16 pixels x 4 channels: per 4 channels co of dy it loads 4 weight texels and 16 + 16
// texels of dy and y for 256 FMAs.
//
// Layouts: dy (and y) are NHWC [batch,H,W,C] (C = C_out of the forward layer) uploaded as an
// rgba32float texture of W*C/4 texels by batch*H rows (texel (w*C/4 + c/4, b*H + h) = channels
// c..c+3); wt is flipped [3,3,C,N] with N padded to 4, as a texture of C texels by 9 rows
// (texel (co, tap) = the 4 outputs of row tap*C + co); dx NHWC [batch,H,W,N] f32, N <= 4.
// The host requires C % 16 == 0 (and the 256-byte row alignment of copyBufferToTexture).
//
// Bindings (group 0): 0 dy (texture), 1 y (texture), 2 wt (texture), 3 dx (write), 4 Params (uniform).
//
// Work decomposition: one thread per R consecutive pixels; WG = 64 threads per workgroup (8 SIMD
// rounds of llvmpipe's 8 lanes); the linear thread index is folded over dispatch x and y.

// RELU (override, default true): false drops the ReLU mask (g = dy: tfjs's Conv2DBackpropInput
// through the registered kernels, src/gpu/register.ts, whose caller has applied any mask already).
override RELU: bool = true;
override WG: u32; // threads per workgroup, set by the host (src/gpu/)
const R: u32 = 16u; // output pixels per thread

struct Params {
  height: u32,
  width: u32,
  c: u32, // channels of dy
  n: u32, // output channels, 1..4
  m_total: u32, // batch * height * width
  threads: u32, // ceil(m_total / R)
}

@group(0) @binding(0) var dy: texture_2d<f32>;
@group(0) @binding(1) var live: texture_2d<f32>;
@group(0) @binding(2) var wt: texture_2d<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(WG, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * WG;
  if (t >= p.threads) {
    return;
  }
  let m0 = t * R;
  let hw = p.height * p.width;
  let c4 = p.c / 4u;

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

  var acc: array<vec4<f32>, R>; // zero-initialised
  for (var tap = 0u; tap < 9u; tap++) {
    let ky = i32(tap / 3u) - 1;
    let kx = i32(tap % 3u) - 1;
    var cx: array<i32, R>;
    var cy: array<i32, R>;
    var ok: array<bool, R>;
    for (var r = 0u; r < R; r++) {
      let ih = ph[r] + ky;
      let iw = pw[r] + kx;
      ok[r] = ih >= 0 && iw >= 0 && ih < i32(p.height) && iw < i32(p.width);
      cx[r] = select(0, iw * i32(c4), ok[r]);
      cy[r] = select(0, prow[r] + ih, ok[r]);
    }
    for (var ci4 = 0u; ci4 < c4; ci4++) {
      let co = i32(ci4 * 4u);
      let w0 = textureLoad(wt, vec2<i32>(co, i32(tap)), 0);
      let w1 = textureLoad(wt, vec2<i32>(co + 1, i32(tap)), 0);
      let w2 = textureLoad(wt, vec2<i32>(co + 2, i32(tap)), 0);
      let w3 = textureLoad(wt, vec2<i32>(co + 3, i32(tap)), 0);
      for (var r = 0u; r < R; r++) {
        let at = vec2<i32>(cx[r] + i32(ci4), cy[r]);
        var g = textureLoad(dy, at, 0);
        g = select(vec4<f32>(0.0), g, textureLoad(live, at, 0) > vec4<f32>(0.0) | vec4<bool>(!RELU));
        g = select(vec4<f32>(0.0), g, ok[r]);
        acc[r] += g.x * w0 + g.y * w1 + g.z * w2 + g.w * w3;
      }
    }
  }

  for (var r = 0u; r < R; r++) {
    let m = m0 + r;
    if (m < p.m_total) {
      let v = acc[r];
      for (var c = 0u; c < p.n; c++) {
        dx[m * p.n + c] = v[c];
      }
    }
  }
}
