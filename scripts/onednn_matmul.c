// Measurement only (not part of Strata): oneDNN's matmul at the encoder's GEMM shapes, to set beside
// `strata bench gemm`. Built and run by scripts/bench-onednn (gcc -O3, Debian libdnnl-dev 2.6, OpenMP:
// OMP_NUM_THREADS sets the threads).
//
// For each shape y[M, N] = x[M, K] · W[N, K]^T (M = 32 x 128 tokens; K x N = 384x384, 384x1536, 1536x384,
// 384x1152) and each type it prints GFLOP/s (GOP/s for int8) = 2 M N K / seconds:
//   f32   f32 x f32 -> f32, bias
//   bf16  bf16 x bf16 -> f32, bias; "+conv" also times the f32 -> bf16 reorder of x (Strata converts x per call)
//   int8  s8 x s8 -> f32 with per-output-channel scales, a bias (zeros, so the spot check does not depend on
//         where oneDNN adds it) and a per-row scale (binary mul post-op [M, 1]), i.e. the whole dequantizing
//         epilogue; "+quant" also times the f32 -> s8 reorder of x (one static scale: oneDNN 2.6 has no dynamic
//         per-row quantization, so Strata's per-row max pass is not counted)
// Weights are reordered once into the layout oneDNN picks (format_tag any), outside the timing, like
// Strata's packed weights. Each primitive runs once to warm up, then repeatedly for --seconds.
// A spot check of output row 0 against a Double dot product catches a wrong layout.
//
// usage: onednn_matmul [M] [seconds]
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <oneapi/dnnl/dnnl.h>

#define CHECK(call) do { dnnl_status_t s_ = (call); if (s_ != dnnl_success) { \
    fprintf(stderr, "onednn_matmul: %s failed (status %d) at line %d\n", #call, (int)s_, __LINE__); exit(2); } } while (0)

static dnnl_engine_t eng;
static dnnl_stream_t strm;

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

static uint64_t rng_state = 1;
static float urand(void) {   // SplitMix64 -> [-0.5, 0.5)
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull; z = (z ^ (z >> 27)) * 0x94D049BB133111EBull; z ^= z >> 31;
    return (float)((z >> 40) * (1.0 / 16777216.0)) - 0.5f;
}

static dnnl_memory_t mem(const dnnl_memory_desc_t *md, void *data) {
    dnnl_memory_t m;
    CHECK(dnnl_memory_create(&m, md, eng, data ? data : DNNL_MEMORY_ALLOCATE));
    return m;
}

static void reorder(dnnl_memory_t from, dnnl_memory_t to, const dnnl_primitive_attr_t attr) {
    const dnnl_memory_desc_t *a, *b;
    CHECK(dnnl_memory_get_memory_desc(from, &a));
    CHECK(dnnl_memory_get_memory_desc(to, &b));
    dnnl_primitive_desc_t pd; dnnl_primitive_t p;
    CHECK(dnnl_reorder_primitive_desc_create(&pd, a, eng, b, eng, attr));
    CHECK(dnnl_primitive_create(&p, pd));
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
    CHECK(dnnl_primitive_execute(p, strm, 2, args));
    CHECK(dnnl_stream_wait(strm));
    dnnl_primitive_destroy(p); dnnl_primitive_desc_destroy(pd);
}

/// Runs `p` with `args` (and, when `pre` is set, the reorder `pre` first) for about `seconds`; calls/s.
static double rate(dnnl_primitive_t p, int nargs, dnnl_exec_arg_t *args, dnnl_primitive_t pre, dnnl_exec_arg_t *pargs, double seconds) {
    long n = 0;
    double t0 = 0, el = 0;
    for (;;) {
        if (pre) CHECK(dnnl_primitive_execute(pre, strm, 2, pargs));
        CHECK(dnnl_primitive_execute(p, strm, nargs, args));
        CHECK(dnnl_stream_wait(strm));
        if (t0 == 0) { t0 = now(); continue; }   // the first call warms up
        n++;
        el = now() - t0;
        if (el >= seconds) break;
    }
    return n / el;
}

static void run_shape(int M, int K, int N, double seconds) {
    const double ops = 2.0 * M * N * K / 1e9;
    float *x = malloc(sizeof(float) * M * K), *w = malloc(sizeof(float) * N * K), *bias = malloc(sizeof(float) * N);
    float *y = malloc(sizeof(float) * M * N), *wscale = malloc(sizeof(float) * N), *xscale = malloc(sizeof(float) * M);
    for (long i = 0; i < (long)M * K; i++) x[i] = 2 * urand();
    for (long i = 0; i < (long)N * K; i++) w[i] = 0.1f * urand();
    for (int i = 0; i < N; i++) bias[i] = urand();
    dnnl_dims_t xd = {M, K}, wd = {K, N}, yd = {M, N}, bd = {1, N}, sd = {M, 1};
    dnnl_memory_desc_t x_f32, w_f32_ba, y_f32, b_f32, s_f32;
    CHECK(dnnl_memory_desc_init_by_tag(&x_f32, 2, xd, dnnl_f32, dnnl_ab));
    CHECK(dnnl_memory_desc_init_by_tag(&w_f32_ba, 2, wd, dnnl_f32, dnnl_ba));   // W[N, K] row-major = [K, N] "ba"
    CHECK(dnnl_memory_desc_init_by_tag(&y_f32, 2, yd, dnnl_f32, dnnl_ab));
    CHECK(dnnl_memory_desc_init_by_tag(&b_f32, 2, bd, dnnl_f32, dnnl_ab));
    CHECK(dnnl_memory_desc_init_by_tag(&s_f32, 2, sd, dnnl_f32, dnnl_ab));
    dnnl_memory_t mx = mem(&x_f32, x), mw = mem(&w_f32_ba, w), my = mem(&y_f32, y), mb = mem(&b_f32, bias);

    const char *names[3] = {"f32", "bf16", "int8"};
    dnnl_memory_t args_bias;
    for (int t = 0; t < 3; t++) {
        dnnl_data_type_t st = t == 0 ? dnnl_f32 : t == 1 ? dnnl_bf16 : dnnl_s8;
        dnnl_data_type_t wt = t == 0 ? dnnl_f32 : t == 1 ? dnnl_bf16 : dnnl_s8;
        dnnl_memory_desc_t src, wany;
        CHECK(dnnl_memory_desc_init_by_tag(&src, 2, xd, st, dnnl_ab));
        CHECK(dnnl_memory_desc_init_by_tag(&wany, 2, wd, wt, dnnl_format_tag_any));
        dnnl_primitive_attr_t attr = NULL;
        dnnl_primitive_desc_t pd; dnnl_primitive_t p;
        float xs = 1;
        int rowscale = 0;   // int8: the per-row scale runs as a binary post-op (1) or is left out (0)
        if (t == 2) {
            // symmetric per-channel weight scales; one activation scale for the s8 reorder of x
            for (int j = 0; j < N; j++) {
                float mx_ = 0;
                for (int k = 0; k < K; k++) mx_ = fmaxf(mx_, fabsf(w[(long)j * K + k]));
                wscale[j] = mx_ / 127;
            }
            float amax = 0;
            for (long i = 0; i < (long)M * K; i++) amax = fmaxf(amax, fabsf(x[i]));
            xs = amax / 127;
            for (int i = 0; i < M; i++) xscale[i] = xs;
        }
        // int8: first with the per-row scale fused (binary mul post-op [M, 1]); if oneDNN only has its
        // reference kernel for that, without it (the per-row scale folded into the output scales instead,
        // which is exact here because every row has the same scale, and is said in the output)
        for (int attempt = 0; attempt < (t == 2 ? 2 : 1); attempt++) {
            if (attr) dnnl_primitive_attr_destroy(attr);
            CHECK(dnnl_primitive_attr_create(&attr));
            rowscale = t == 2 && attempt == 0;
            if (t == 2) {
                float *os = malloc(sizeof(float) * N);
                for (int j = 0; j < N; j++) os[j] = rowscale ? wscale[j] : wscale[j] * xs;
                CHECK(dnnl_primitive_attr_set_output_scales(attr, N, 1 << 1, os));
                free(os);
            }
            if (rowscale) {
                dnnl_post_ops_t po; CHECK(dnnl_post_ops_create(&po));
                CHECK(dnnl_post_ops_append_binary(po, dnnl_binary_mul, &s_f32));
                CHECK(dnnl_primitive_attr_set_post_ops(attr, po));
                dnnl_post_ops_destroy(po);
            }
            dnnl_matmul_desc_t md;
            CHECK(dnnl_matmul_desc_init(&md, &src, &wany, &b_f32, &y_f32));
            CHECK(dnnl_primitive_desc_create(&pd, &md, attr, eng, NULL));
            const char *im = NULL;
            CHECK(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &im));
            if (t != 2 || attempt == 1 || strncmp(im, "ref", 3) != 0) break;
            dnnl_primitive_desc_destroy(pd);
        }
        CHECK(dnnl_primitive_create(&p, pd));
        const char *impl = NULL;
        CHECK(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl));
        // weights: reorder once into oneDNN's packed layout (int8: quantized here first, symmetric per channel)
        dnnl_memory_t mwp = mem(dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0), NULL);
        dnnl_memory_t mwsrc = mw;
        int8_t *wq = NULL;
        if (t == 2) {
            wq = malloc((size_t)N * K);
            for (int j = 0; j < N; j++)
                for (int k = 0; k < K; k++)
                    wq[(long)j * K + k] = wscale[j] > 0 ? (int8_t)lrintf(w[(long)j * K + k] / wscale[j]) : 0;
            dnnl_memory_desc_t w_s8_ba;
            CHECK(dnnl_memory_desc_init_by_tag(&w_s8_ba, 2, wd, dnnl_s8, dnnl_ba));
            mwsrc = mem(&w_s8_ba, wq);
        }
        reorder(mwsrc, mwp, NULL);
        if (t == 2) { dnnl_memory_destroy(mwsrc); free(wq); }
        // activations: x converted by a reorder primitive (timed in "+conv" / "+quant")
        dnnl_memory_t msrc = mx;
        dnnl_primitive_t pre = NULL; dnnl_primitive_desc_t prepd = NULL;
        dnnl_exec_arg_t pargs[2];
        if (t > 0) {
            msrc = mem(&src, NULL);
            dnnl_primitive_attr_t xattr = NULL;
            float xinv = 1 / xs;
            if (t == 2) { CHECK(dnnl_primitive_attr_create(&xattr)); CHECK(dnnl_primitive_attr_set_output_scales(xattr, 1, 0, &xinv)); }
            CHECK(dnnl_reorder_primitive_desc_create(&prepd, &x_f32, eng, &src, eng, xattr));
            CHECK(dnnl_primitive_create(&pre, prepd));
            pargs[0] = (dnnl_exec_arg_t){DNNL_ARG_FROM, mx}; pargs[1] = (dnnl_exec_arg_t){DNNL_ARG_TO, msrc};
            CHECK(dnnl_primitive_execute(pre, strm, 2, pargs)); CHECK(dnnl_stream_wait(strm));
            if (xattr) dnnl_primitive_attr_destroy(xattr);
        }
        dnnl_memory_t ms = mem(&s_f32, xscale);
        float *zeros = calloc(N, sizeof(float));
        dnnl_memory_t mzb = mem(&b_f32, zeros);
        if (t == 2) args_bias = mzb; else args_bias = mb;
        dnnl_exec_arg_t args[5] = {{DNNL_ARG_SRC, msrc}, {DNNL_ARG_WEIGHTS, mwp}, {DNNL_ARG_BIAS, args_bias}, {DNNL_ARG_DST, my},
                                   {DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, ms}};
        int nargs = rowscale ? 5 : 4;
        double r = rate(p, nargs, args, NULL, NULL, seconds);
        double rc = t > 0 ? rate(p, nargs, args, pre, pargs, seconds) : 0;
        // spot check: row 0, first 8 outputs against Double (tolerance: bf16 ~ 1e-2, int8 ~ 2e-2 of the spread)
        double worst = 0;
        for (int j = 0; j < 8 && j < N; j++) {
            double acc = t == 2 ? 0 : bias[j];
            for (int k = 0; k < K; k++) acc += (double)x[k] * w[(long)j * K + k];
            worst = fmax(worst, fabs(acc - y[j]));
        }
        double tol = t == 0 ? 1e-3 : 0.1;
        printf("%-4s M %d K %4d N %4d  %7.1f G%sOP/s", names[t], M, K, N, r * ops, t == 2 ? "" : "FL");
        if (t > 0) printf("  %s %7.1f", t == 1 ? "+conv " : "+quant", rc * ops); else printf("                ");
        printf("  check %.1e %s  [%s]%s\n", worst, worst <= tol ? "ok" : "BAD", impl ? impl : "?",
               t == 2 && !rowscale ? " (per-row scale not fused: only the reference kernel has it)" : "");
        if (worst > tol) { fprintf(stderr, "onednn_matmul: %s output differs from the Double product by %g\n", names[t], worst); exit(3); }
        dnnl_memory_destroy(ms); dnnl_memory_destroy(mwp); dnnl_memory_destroy(mzb); free(zeros);
        if (t > 0) { dnnl_memory_destroy(msrc); dnnl_primitive_destroy(pre); dnnl_primitive_desc_destroy(prepd); }
        dnnl_primitive_destroy(p); dnnl_primitive_desc_destroy(pd); dnnl_primitive_attr_destroy(attr);
    }
    dnnl_memory_destroy(mx); dnnl_memory_destroy(mw); dnnl_memory_destroy(my); dnnl_memory_destroy(mb);
    free(x); free(w); free(bias); free(y); free(wscale); free(xscale);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    int M = argc > 1 ? atoi(argv[1]) : 4096;
    double seconds = argc > 2 ? atof(argv[2]) : 1;
    const dnnl_version_t *v = dnnl_version();
    printf("oneDNN %d.%d.%d (%s), OMP_NUM_THREADS=%s\n", v->major, v->minor, v->patch, v->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP" : "other",
           getenv("OMP_NUM_THREADS") ? getenv("OMP_NUM_THREADS") : "(unset)");
    CHECK(dnnl_engine_create(&eng, dnnl_cpu, 0));
    CHECK(dnnl_stream_create(&strm, eng, dnnl_stream_default_flags));
    int shapes[4][2] = {{384, 384}, {384, 1536}, {1536, 384}, {384, 1152}};
    for (int s = 0; s < 4; s++) run_shape(M, shapes[s][0], shapes[s][1], seconds);
    dnnl_stream_destroy(strm); dnnl_engine_destroy(eng);
    return 0;
}
