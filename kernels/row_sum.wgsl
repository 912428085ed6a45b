// row_sum.wgsl: out[b] = sum_{g < cols} rows[b, g], the last step of the style loss (adds the
// per-workgroup partial sums of style_diff.wgsl).
//
// Layouts (f32, dense): rows [batch, cols], out [batch].
// Bindings (group 0): 0 rows (read), 1 out (write), 2 Params (uniform).
// One workgroup of WG = 256 threads per image (dispatch x = batch): each thread sums a strided
// share, then a tree reduction in workgroup memory. cols is at most a few hundred, so one
// workgroup per row is plenty.

override WG: u32; // threads per workgroup, set by the host (src/gpu/)

struct Params {
  cols: u32,
}

@group(0) @binding(0) var<storage, read> rows: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lidx: u32) {
  let b = wid.x;
  var s = 0.0;
  for (var g = lidx; g < p.cols; g += WG) {
    s += rows[b * p.cols + g];
  }
  partial[lidx] = s;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lidx < stride) {
      partial[lidx] += partial[lidx + stride];
    }
    workgroupBarrier();
  }
  if (lidx == 0u) {
    out[b] = partial[0];
  }
}
