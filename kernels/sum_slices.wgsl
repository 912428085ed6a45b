// sum_slices.wgsl: out[b, i] = scale * sum_{s < slices} parts[b, s, i], the reduction after a
// split-M gram.wgsl or gram_tex.wgsl, or a split-K conv3x3_tex.wgsl gradient (batch 1, scale 1).
//
// Layouts (f32, dense, row-major): parts [batch, slices, len] and out [batch, len], both read and
// written as vec4 (len = N*N for gram, M*N for conv: multiples of 4 because N is).
//
// Bindings (group 0): 0 parts (read, vec4), 1 out (write, vec4), 2 Params (uniform).
//
// One thread per output vec4, WG = 256 threads per workgroup (a multiple of every GPU's SIMD
// width; the kernel is bandwidth-bound so larger tiles would not help). The linear workgroup index
// is folded over dispatch x and y because batch*len/4/256 can pass 65535.

override WG: u32; // threads per workgroup, set by the host (src/gpu/)

struct Params {
  len4: u32, // vec4s per slice
  slices: u32,
  total4: u32, // batch * len4
  scale: f32,
}

@group(0) @binding(0) var<storage, read> parts: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG, 1, 1)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lidx: u32,
) {
  let o = (wid.x + wid.y * nwg.x) * WG + lidx;
  if (o >= p.total4) {
    return;
  }
  let b = o / p.len4;
  let i = o - b * p.len4;
  var sum = vec4<f32>(0.0);
  for (var s = 0u; s < p.slices; s++) {
    sum += parts[(b * p.slices + s) * p.len4 + i];
  }
  out[o] = sum * p.scale;
}
