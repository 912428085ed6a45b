// conv3x3_grad_input_narrow.wgsl: conv3x3_grad_input.wgsl for at most 4 output channels, i.e. the
// gradient with respect to the image itself (C_in = 3 of VGG's first layer).
//
// Computes the same
//   dx[b,h,w,ci] = sum_{ky,kx,co} g[b, h+ky-1, w+kx-1, co] * flipped[ky,kx,co,ci],  g = dy * (y > 0)
// but as one thread per pixel instead of a 64-channel-wide GEMM tile, which would leave 61 of its
// 64 columns idle for C_in = 3. Each thread walks its 9 taps and the C_out channels of dy 4 at a
// time (one 16-byte read of dy and of y), and keeps its <= 4 outputs in one vec4. The weights of
// one tap (C_out rows of <= 4 values, padded to a vec4) are staged in workgroup memory per tap, so
// each costs one broadcast vec4 read instead of 4 scalar global reads.
//
// Layouts (f32, dense, row-major): dy and y NHWC [batch,H,W,C_out] with C_out % 4 == 0;
// flipped [3,3,C_out,C_in] with C_in <= 4 and C_out <= MAX_C; dx NHWC [batch,H,W,C_in].
//
// Bindings (group 0): 0 dy (read, vec4), 1 y (read, vec4), 2 flipped (read), 3 dx (write), 4 Params (uniform).
// The same Params struct as conv3x3_grad_input.wgsl (c_in = channels of dy, c_out = of dx).
//
// CPU adapters (llvmpipe) take conv3x3_tex_narrow.wgsl instead when C_out % 16 == 0.
//
// WG = 64 threads (one pixel each): enough to fill a SIMD unit several times over while keeping
// per-workgroup scheduling cheap; the workgroup index is folded over dispatch x and y.

// RELU (override, default true): false drops the ReLU mask (g = dy: tfjs's Conv2DBackpropInput
// through the registered kernels, src/gpu/register.ts, whose caller has applied any mask already).
override RELU: bool = true;
override WG: u32; // threads per workgroup, set by the host (src/gpu/)
override MAX_C: u32; // largest C_out of dy staged per tap: 8 KiB of workgroup memory (host: 512)

struct Params {
  batch: u32,
  height: u32,
  width: u32,
  c_in: u32, // channels of dy
  c_out: u32, // channels of dx, 1..4
  m_total: u32, // batch * height * width
  k_total: u32, // 9 * c_in
  m_tiles: u32, // unused here (kept so both gradient kernels share one Params layout)
}

@group(0) @binding(0) var<storage, read> dy: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> y: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> wt: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

// One tap's rows of flipped (C_out channels of dy, each a vec4 of <= 4 outputs, zero-padded).
var<workgroup> tap_weights: array<vec4<f32>, MAX_C>;

@compute @workgroup_size(WG, 1, 1)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lidx: u32,
) {
  let m = (wid.x + wid.y * nwg.x) * WG + lidx;
  let live = m < p.m_total; // no early return: every thread takes part in staging the weights
  let rem = m % (p.height * p.width);
  let h = rem / p.width;
  let w = rem - h * p.width;
  let last = p.c_out - 1u;
  let valid = vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(p.c_out);
  var acc = vec4<f32>(0.0);
  for (var tap = 0u; tap < 9u; tap++) {
    for (var r = lidx; r < p.c_in; r += WG) {
      let base = (tap * p.c_in + r) * p.c_out;
      let v = vec4<f32>(wt[base], wt[base + min(1u, last)], wt[base + min(2u, last)], wt[base + min(3u, last)]);
      tap_weights[r] = select(vec4<f32>(0.0), v, valid);
    }
    workgroupBarrier();
    let ky = tap / 3u;
    let kx = tap - ky * 3u;
    let ih = i32(h) + i32(ky) - 1;
    let iw = i32(w) + i32(kx) - 1;
    if (live && ih >= 0 && ih < i32(p.height) && iw >= 0 && iw < i32(p.width)) {
      let src = u32(i32(m) + (i32(ky) - 1) * i32(p.width) + (i32(kx) - 1)) * p.c_in;
      for (var co = 0u; co < p.c_in; co += 4u) {
        let i = (src + co) / 4u;
        let g = select(vec4<f32>(0.0), dy[i], y[i] > vec4<f32>(0.0) | vec4<bool>(!RELU));
        acc += g.x * tap_weights[co] + g.y * tap_weights[co + 1u] + g.z * tap_weights[co + 2u] +
          g.w * tap_weights[co + 3u];
      }
    }
    workgroupBarrier();
  }
  if (live) {
    let o = m * p.c_out;
    for (var c = 0u; c < p.c_out; c++) {
      dx[o + c] = acc[c];
    }
  }
}
