/*
 * Opt-in for bench/run.sh --mkl-amd (bench/README.md). libtorch's bundled MKL exports this check and, when it
 * answers no (any AMD CPU), runs generic GEMM kernels: 1.3-1.5x slower than its AVX2 ones on this EPYC, and 3x
 * on LoRA's rank-8 products. Preloading this answer makes MKL choose kernels by the CPU's feature flags alone.
 */
int mkl_serv_intel_cpu_true(void) {
    return 1;
}
