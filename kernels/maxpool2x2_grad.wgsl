// maxpool2x2_grad.wgsl: gradient of maxpool2x2.wgsl with respect to its input.
//
// Each 2x2 window routes dy[b, i, j, c] to the first position holding the window's maximum, in
// row-major order (0,0), (0,1), (1,0), (1,1), the same tie rule as tfjs's MaxPoolGrad; the other
// three positions get 0. The odd last row/column that the pool drops gets 0 as well.
//
// Layouts (f32, dense): x NHWC [batch, H, W, C] (the pool's input), dy NHWC [batch, H/2, W/2, C],
// dx NHWC [batch, H, W, C], all as vec4 along C (C % 4 == 0).
//
// Bindings (group 0): 0 x (read), 1 dy (read), 2 dx (write), 3 Params (uniform).
//
// One thread per 4 channels of one window of the ceil(H/2) x ceil(W/2) window grid: it reads the
// window once, writes all of it (so every element of dx is written exactly once, with no zero-fill
// pass), and partial windows on an odd edge only write zeros. WG = 256 threads, workgroup index
// folded over dispatch x and y as in maxpool2x2.wgsl.

override WG: u32; // threads per workgroup, set by the host (src/gpu/)

struct Params {
  height: u32,
  width: u32,
  c4: u32,
  out_h: u32, // floor(H / 2): rows of dy
  out_w: u32, // floor(W / 2)
  win_h: u32, // ceil(H / 2): window rows to cover all of dx
  win_w: u32, // ceil(W / 2)
  total4: u32, // batch * win_h * win_w * c4
}

@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> dy: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dx: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> p: Params;

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
  let j = pix % p.win_w;
  let bi = pix / p.win_w;
  let i = bi % p.win_h;
  let b = bi / p.win_h;
  let row = p.width * p.c4;
  let h0 = 2u * i;
  let w0 = 2u * j;
  let top = ((b * p.height + h0) * p.width + w0) * p.c4 + c;
  let zero = vec4<f32>(0.0);
  if (i < p.out_h && j < p.out_w) {
    let v00 = x[top];
    let v01 = x[top + p.c4];
    let v10 = x[top + row];
    let v11 = x[top + row + p.c4];
    // Strictly greater replaces, so the earliest position wins a tie.
    var best = v00;
    var at = vec4<u32>(0u);
    let g1 = v01 > best;
    best = select(best, v01, g1);
    at = select(at, vec4<u32>(1u), g1);
    let g2 = v10 > best;
    best = select(best, v10, g2);
    at = select(at, vec4<u32>(2u), g2);
    let g3 = v11 > best;
    at = select(at, vec4<u32>(3u), g3);
    let g = dy[((b * p.out_h + i) * p.out_w + j) * p.c4 + c];
    dx[top] = select(zero, g, at == vec4<u32>(0u));
    dx[top + p.c4] = select(zero, g, at == vec4<u32>(1u));
    dx[top + row] = select(zero, g, at == vec4<u32>(2u));
    dx[top + row + p.c4] = select(zero, g, at == vec4<u32>(3u));
  } else {
    // A window cut by the odd edge: whatever part of it exists was dropped by the pool.
    let has_right = w0 + 1u < p.width;
    let has_below = h0 + 1u < p.height;
    dx[top] = zero;
    if (has_right) {
      dx[top + p.c4] = zero;
    }
    if (has_below) {
      dx[top + row] = zero;
      if (has_right) {
        dx[top + row + p.c4] = zero;
      }
    }
  }
}
