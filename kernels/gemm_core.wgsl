// gemm_core.wgsl: the register-blocked GEMM microkernel every tiled matmul shares.
//
// Included (`// #include gemm_core.wgsl`, expanded by src/gpu/wgsl.ts, which keeps error line
// numbers in this file) by conv3x3_gemm.wgsl (the implicit-GEMM convs), gram.wgsl (F^T F) and
// fd_matmul.wgsl (F d). Each of those computes a block of  OUT[m, n] = sum_k A[m, k] * B[k, n]
// per workgroup; this file holds what they have in common:
//   - the two workgroup tiles one K slice is staged into:
//       a_tile[k * TILE_M4 + m / 4]  4 consecutive rows m of A at depth k   (TILE_K x TILE_M4)
//       b_tile[k * TILE_N4 + n / 4]  4 consecutive columns n of B at depth k (TILE_K x TILE_N4)
//   - GemmAcc, a thread's THREAD_M x THREAD_N = 8 x 8 block of OUT as 16 named vec4s
//     (rNR_S: row slot N, row R of its 4, column slot S; see below),
//   - gemm_k_slice, which adds one staged K slice into a thread's GemmAcc,
//   - gemm_stage_a, which writes 4 consecutive k of one row of A into a_tile (transposed).
//
// The includer defines (const or override, as its host tunes them):
//   WG_X: u32     threads along n; column slot 1 is WG_X vec4s after slot 0
//   WG_Y: u32     threads along m; row slot 1 is WG_Y vec4s after slot 0
//   TILE_K: u32   depth of a staged K slice (values of k per barrier)
//   TILE_M4: u32  vec4s of rows per tile = WG_Y * THREAD_M / 4
//   TILE_N4: u32  vec4s of columns per tile = WG_X * THREAD_N / 4
// and does the rest: which rows and columns its workgroup owns, the K loop that stages a slice,
// calls workgroupBarrier(), gemm_k_slice(&acc, lid.y, lid.x) and workgroupBarrier() again, and the
// epilogue. Thread (x, y) owns rows 4y..4y+3 and 4(y + WG_Y)..+3 of the tile and columns
// 4x..4x+3 and 4(x + WG_X)..+3.
//
// Why 8 x 8 per thread, in two slots 8 apart: 4 vec4 reads of workgroup memory feed 64 FMAs, the
// ratio that mattered most on every target measured (4 x 4 per thread ran 2x slower on llvmpipe);
// with the slots WG_X (WG_Y) vec4s apart, neighbouring threads read neighbouring 16-byte words (no
// bank conflicts on GPUs). The block is named values, not an array, so no compiler has to prove
// indices constant to keep it in registers. With WG_X = WG_Y = 8 and TILE_K = 16 the two tiles
// are 4 KiB each, well inside the 16 KiB of workgroup memory WebGPU guarantees, so several
// workgroups fit on one compute unit. The loop bound TILE_K is the includer's const or override,
// so the driver sees a constant trip count and can unroll.

const THREAD_M: u32 = 8u; // rows of OUT per thread: 2 vec4 slots, WG_Y slots apart
const THREAD_N: u32 = 8u; // columns of OUT per thread: 2 vec4 slots, WG_X slots apart

var<workgroup> a_tile: array<vec4<f32>, TILE_K * TILE_M4>;
var<workgroup> b_tile: array<vec4<f32>, TILE_K * TILE_N4>;

// A thread's 8 x 8 block of OUT: field rNR_S holds row R (0-3) of row slot N (0, 1) and the 4
// columns of column slot S (0, 1). Zero-initialised with `var acc: GemmAcc;`.
struct GemmAcc {
  r00_0: vec4<f32>,
  r00_1: vec4<f32>,
  r01_0: vec4<f32>,
  r01_1: vec4<f32>,
  r02_0: vec4<f32>,
  r02_1: vec4<f32>,
  r03_0: vec4<f32>,
  r03_1: vec4<f32>,
  r10_0: vec4<f32>,
  r10_1: vec4<f32>,
  r11_0: vec4<f32>,
  r11_1: vec4<f32>,
  r12_0: vec4<f32>,
  r12_1: vec4<f32>,
  r13_0: vec4<f32>,
  r13_1: vec4<f32>,
}

// acc += the staged slice's A rows of thread row ty times its B columns of thread column tx.
fn gemm_k_slice(acc: ptr<function, GemmAcc>, ty: u32, tx: u32) {
  for (var kk = 0u; kk < TILE_K; kk++) {
    let a0 = a_tile[kk * TILE_M4 + ty];
    let a1 = a_tile[kk * TILE_M4 + ty + WG_Y];
    let b0 = b_tile[kk * TILE_N4 + tx];
    let b1 = b_tile[kk * TILE_N4 + tx + WG_X];
    (*acc).r00_0 += a0.x * b0;
    (*acc).r00_1 += a0.x * b1;
    (*acc).r01_0 += a0.y * b0;
    (*acc).r01_1 += a0.y * b1;
    (*acc).r02_0 += a0.z * b0;
    (*acc).r02_1 += a0.z * b1;
    (*acc).r03_0 += a0.w * b0;
    (*acc).r03_1 += a0.w * b1;
    (*acc).r10_0 += a1.x * b0;
    (*acc).r10_1 += a1.x * b1;
    (*acc).r11_0 += a1.y * b0;
    (*acc).r11_1 += a1.y * b1;
    (*acc).r12_0 += a1.z * b0;
    (*acc).r12_1 += a1.z * b1;
    (*acc).r13_0 += a1.w * b0;
    (*acc).r13_1 += a1.w * b1;
  }
}

// Stage A[m_local][4g .. 4g+3] of the slice (v: 4 consecutive k of one row, as a row-major A
// reads them) into a_tile, whose layout is k-major: one scalar into each of 4 k rows.
fn gemm_stage_a(g: u32, m_local: u32, v: vec4<f32>) {
  let row = g * 4u * TILE_M4 + m_local / 4u;
  let lane = m_local % 4u;
  a_tile[row][lane] = v.x;
  a_tile[row + TILE_M4][lane] = v.y;
  a_tile[row + 2u * TILE_M4][lane] = v.z;
  a_tile[row + 3u * TILE_M4][lane] = v.w;
}
