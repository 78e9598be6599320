// lib/gemm_store: the epilogue for GEMM kernels where each output element belongs to one
// thread (matmul_forward, matmul_backward; lora_backward sums k-slices first). Hands every
// element of a thread's block from lib/gemm.wgsl that lies inside [0, M)×[0, N), row by row,
// to the kernel's
//   fn gemmStore(m: u32, n: u32, acc: f32)
// A kernel can fuse a second product into that epilogue (LoRA's term onto the base linear's
// result): it calls gemmSecond after its own gemm(); gemm() then runs again with the kernel's
// operand functions answering for the second product while `secondPass` is true (so its tiles
// and k order are those of a separate dispatch of that product), and gemmStore reads the
// second product's element with secondAt(m, n).
fn gemmStoreBlock(acc: GemmBlock, m0: u32, n0: u32, M: u32, N: u32, tx: u32, ty: u32) {
  for (var i = 0u; i < TM; i++) {
    let m = m0 + ty * TM + i;
    if (m >= M) { continue; }
    for (var j = 0u; j < TN; j++) {
      let n = n0 + tx * TN + j;
      if (n >= N) { continue; }
      gemmStore(m, n, acc[i][j]);
    }
  }
}

var<private> secondPass: bool;
var<private> secondAcc: GemmBlock;
var<private> secondOrigin: vec2<u32>;

fn gemmSecond(m0: u32, n0: u32, M: u32, N: u32, K: u32, li: u32, tx: u32, ty: u32, aKFast: bool, bKFast: bool) {
  secondPass = true;
  secondAcc = gemm(m0, n0, M, N, K, li, tx, ty, 0u, 1u, aKFast, bKFast);
  secondOrigin = vec2<u32>(m0 + ty * TM, n0 + tx * TN);
}

fn secondAt(m: u32, n: u32) -> f32 {
  return secondAcc[m - secondOrigin.x][n - secondOrigin.y];
}
