/*
 * sgm4j: lets the Intel MKL statically linked into libtorch pick its fast code paths on AMD CPUs.
 *
 * MKL asks this exported function whether it runs on an Intel CPU and, on AMD, falls back to
 * slower generic kernels even where the CPU has the same instruction sets (AVX2, AVX-512). The
 * launcher ./sgm4j builds this file into a shared library and preloads it on AMD machines, so the
 * answer is "yes"; MKL still reads the CPU's instruction sets itself (cpuid) and uses only what is
 * there. Measured on a 2-core AMD Zen 5 (docs/benchmarks.md): a 2048^3 float32 matmul 120 -> 52 ms.
 * Set SGM4J_MKL_VENDOR_SHIM=0 to run without it.
 */
int mkl_serv_intel_cpu_true(void) {
    return 1;
}
