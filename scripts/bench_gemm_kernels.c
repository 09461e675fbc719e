// Single-thread rates of CStrataKernels' int8 / bf16 / packed fp32 linear layers at the encoder's
// shapes (y[M, N] = x[M, K] W^T + b, activations quantized / converted inside the call, as the engine
// calls them), compiled straight from Sources/CStrataKernels by scripts/bench-gemm-kernels. Each rate is the
// best of repeated calls over `seconds`, so load from other processes on a shared machine (which only
// slows calls down) hardly moves it.
//   usage: bench_gemm_kernels [M=2048] [seconds=0.5] [epilogue: 0 none, 1 GELU]
#include "strata_kernels.h"
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
int main(int argc, char **argv) {
    size_t m = argc > 1 ? atoi(argv[1]) : 2048;
    double secs = argc > 2 ? atof(argv[2]) : 0.5;
    int gelu = argc > 3 ? atoi(argv[3]) : 0;
    size_t shapes[4][2] = {{384, 384}, {384, 1536}, {1536, 384}, {384, 1152}};
    for (int s = 0; s < 4; s++) {
        size_t k = shapes[s][0], n = shapes[s][1];
        float *x = malloc(m * k * 4), *w = malloc(n * k * 4), *b = malloc(n * 4), *y = malloc(m * n * 4);
        for (size_t i = 0; i < m * k; i++) x[i] = (float)rand() / (float)RAND_MAX - 0.5f;
        for (size_t i = 0; i < n * k; i++) w[i] = ((float)rand() / (float)RAND_MAX - 0.5f) * 0.1f;
        for (size_t i = 0; i < n; i++) b[i] = 0.1f;
        int8_t *pq = aligned_alloc(64, sk_int8_packed_bytes(n, k)); float *sc = malloc(n * 4); int32_t *cs = malloc(n * 4);
        sk_int8_pack_weights(w, n, k, pq, sc, cs, NULL);
        uint16_t *pb = aligned_alloc(64, (sk_bf16_packed_bytes(n, k) + 63) / 64 * 64); sk_bf16_pack_weights(w, n, k, pb);
        float *pf = aligned_alloc(64, (sk_f32_packed_bytes(n, k) + 63) / 64 * 64); sk_f32_pack_weights(w, n, k, pf);
        double ops = 2.0 * m * n * k / 1e9;
        printf("M %zu K %4zu N %4zu", m, k, n);
        for (int p = 0; p < 3; p++) {
            double best = 0, t_all = now();
            while (now() - t_all < secs) {
                double t0 = now();
                if (p == 0) sk_int8_linear(x, m, k, k, pq, sc, cs, b, n, y, n, gelu);
                else if (p == 1) sk_bf16_linear(x, m, k, k, pb, b, n, y, n, gelu);
                else sk_f32_linear(x, m, k, k, pf, b, n, y, n, gelu);
                double r = ops / (now() - t0);
                if (r > best) best = r;
            }
            printf("  %s %7.1f", p == 0 ? "int8" : p == 1 ? "bf16" : "fp32", best);
        }
        printf("  G(FL)OP/s\n");
        free(x); free(w); free(b); free(y); free(pq); free(sc); free(cs); free(pb); free(pf);
    }
    return 0;
}
