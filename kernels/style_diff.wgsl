// style_diff.wgsl: the elementwise half of the fused style loss.
//
// From the (possibly split, see gram.wgsl / gram_tex.wgsl) Gram slices of F and the target Gram A
// it computes, per image b and element e of the N x N matrices,
//   diff       = sum_s parts[b, s, e] - A[e]                         (G - A)
//   d[b, e]    = diff * grad_scale            grad_scale = 1 / (N^2 M^2)
//   loss_partial[b, wg] = sum over this workgroup's elements of (diff * loss_scale)^2
//                                             loss_scale = 1 / (2 N M)
// so that sum_wg loss_partial = sum (G - A)^2 / (4 N^2 M^2) = E, and d feeds the gradient GEMM
// dE/dF = F d (fd_matmul.wgsl, or fd_tex.wgsl on CPU adapters, which copy d into a texture first).
// Scaling before squaring keeps the sum far from f32 overflow even for M = 512*512, where entries
// of G reach ~1e11. G itself is never stored: d takes its place.
//
// Layouts (f32, dense, row-major): parts [batch, slices, N*N] (vec4), target [N*N] (vec4, shared by
// every image), d [batch, N*N] (vec4), loss_partial [batch, groups] (scalar, always
// bound whole: image b of a batch-chunked dispatch writes row b_offset + b).
//
// Bindings (group 0): 0 parts (read), 1 target (read), 2 d (write), 3 loss_partial (write),
// 4 Params (uniform). Dispatch: x = group (ceil(N*N/4 / (WG*PER_THREAD))), y = image.
//
// WG = 256 threads, each handling PER_THREAD = 4 vec4s (16 elements), then a tree reduction in
// workgroup memory (256 floats). A 64x64 Gram is one workgroup; a 512x512 one 64.

override WG: u32; // threads per workgroup, set by the host (src/gpu/)
const PER_THREAD: u32 = 4u;

struct Params {
  len4: u32, // N*N/4
  slices: u32,
  groups: u32, // workgroups per image
  b_offset: u32, // first image of this dispatch within loss_partial (batch chunks)
  grad_scale: f32,
  loss_scale: f32,
}

@group(0) @binding(0) var<storage, read> parts: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> target_gram: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> d: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> loss_partial: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lidx: u32) {
  let g = wid.x;
  let b = wid.y;
  var sq = 0.0;
  for (var k = 0u; k < PER_THREAD; k++) {
    // Consecutive threads take consecutive vec4s, so each of the PER_THREAD rounds is coalesced.
    let e = (g * PER_THREAD + k) * WG + lidx;
    if (e < p.len4) {
      var gsum = vec4<f32>(0.0);
      for (var s = 0u; s < p.slices; s++) {
        gsum += parts[(b * p.slices + s) * p.len4 + e];
      }
      let diff = gsum - target_gram[e];
      d[b * p.len4 + e] = diff * p.grad_scale;
      let l = diff * p.loss_scale;
      sq += dot(l, l);
    }
  }
  partial[lidx] = sq;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lidx < stride) {
      partial[lidx] += partial[lidx + stride];
    }
    workgroupBarrier();
  }
  if (lidx == 0u) {
    loss_partial[(p.b_offset + b) * p.groups + g] = partial[0];
  }
}
