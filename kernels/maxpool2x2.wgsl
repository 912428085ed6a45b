// maxpool2x2.wgsl: 2x2 max pool, stride 2, 'valid' padding (an odd last row/column is dropped).
//
//   y[b, i, j, c] = max(x[b, 2i, 2j, c], x[b, 2i, 2j+1, c], x[b, 2i+1, 2j, c], x[b, 2i+1, 2j+1, c])
// for i < floor(H/2), j < floor(W/2).
//
// Layouts (f32, dense): x NHWC [batch, H, W, C] and y NHWC [batch, H/2, W/2, C], both as vec4
// along C (C % 4 == 0, true of every VGG pool: 64..512 channels).
//
// Bindings (group 0): 0 x (read), 1 y (write), 2 Params (uniform).
//
// One thread per output vec4 (4 channels of one output pixel): four 16-byte loads, one store.
// Neighbouring threads take neighbouring channels, so loads and stores are coalesced. The kernel is
// bandwidth-bound; WG = 256 threads is enough to hide latency, and the workgroup index is folded
// over dispatch x and y because batch*H*W*C/16/256 can pass 65535.

override WG: u32; // threads per workgroup, set by the host (src/gpu/)

struct Params {
  height: u32,
  width: u32,
  c4: u32, // C / 4
  out_h: u32,
  out_w: u32,
  total4: u32, // batch * out_h * out_w * c4
}

@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> y: array<vec4<f32>>;
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
  let c = o % p.c4;
  let pix = o / p.c4;
  let j = pix % p.out_w;
  let bi = pix / p.out_w;
  let i = bi % p.out_h;
  let b = bi / p.out_h;
  let row = p.width * p.c4;
  let top = ((b * p.height + 2u * i) * p.width + 2u * j) * p.c4 + c;
  let v = max(max(x[top], x[top + p.c4]), max(x[top + row], x[top + row + p.c4]));
  y[o] = v;
}
