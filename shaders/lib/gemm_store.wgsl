// lib/gemm_store: the epilogue for GEMM kernels where each output element belongs to one
// thread (matmul_forward, matmul_backward; lora_backward sums k-slices first). Hands every
// element of a thread's block from lib/gemm.wgsl that lies inside [0, M)×[0, N), row by row,
// to the kernel's
//   fn gemmStore(m: u32, n: u32, acc: f32)
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
