// Runtime CPU detection (cpuid + xgetbv) and the STRATA_FORCE_PORTABLE switch.
#include "strata_kernels.h"
#include "sk_internal.h"
#if defined(__x86_64__)
#include <cpuid.h>
#endif
#include <stdlib.h>
#include <string.h>

static int xcr0_has_zmm_state(void) {
#if !defined(__x86_64__)
    return 0;
#else
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    if (!(c & (1u << 27))) return 0;                        // OSXSAVE
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (lo & 0xE6u) == 0xE6u;                           // SSE, AVX, opmask, ZMM_Hi256, Hi16_ZMM
#endif
}

static int detect(int bf16) {
#if !defined(__x86_64__)
    (void)bf16;
    return 0;
#else
    unsigned a, b, c, d;
    if (!xcr0_has_zmm_state()) return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    int f = (b >> 16) & 1, bw = (b >> 30) & 1, vl = (b >> 31) & 1;
    if (!(f && bw && vl)) return 0;
    if (!bf16) return (c >> 11) & 1;                        // AVX512_VNNI
    if (a < 1 || !__get_cpuid_count(7, 1, &a, &b, &c, &d)) return 0;
    return (a >> 5) & 1;                                    // AVX512_BF16
#endif
}

// Each flag is computed once; threads that race on the first call store the same value. Relaxed
// atomics keep those stores well defined.
static int cached_f32 = -1, cached_int8 = -1, cached_bf16 = -1, env_force = -1, forced = -1;

static inline int load_flag(int *f) { return __atomic_load_n(f, __ATOMIC_RELAXED); }
static inline void store_flag(int *f, int v) { __atomic_store_n(f, v, __ATOMIC_RELAXED); }

static int detect_f32(void) {
#if !defined(__x86_64__)
    return 0;
#else
    unsigned a, b, c, d;
    if (!xcr0_has_zmm_state()) return 0;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !((c >> 12) & 1)) return 0;   // FMA
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (b >> 16) & 1;                                                 // AVX512F
#endif
}

int sk_cpu_has_f32_simd(void) {
    int v = load_flag(&cached_f32);
    if (v < 0) { v = detect_f32(); store_flag(&cached_f32, v); }
    return v;
}

int sk_cpu_has_int8_simd(void) {
    int v = load_flag(&cached_int8);
    if (v < 0) { v = detect(0); store_flag(&cached_int8, v); }
    return v;
}

int sk_cpu_has_bf16_simd(void) {
    int v = load_flag(&cached_bf16);
    if (v < 0) { v = detect(1); store_flag(&cached_bf16, v); }
    return v;
}

static int force_portable(void) {
    int f = load_flag(&forced);
    if (f >= 0) return f;
    int e = load_flag(&env_force);
    if (e < 0) {
        const char *s = getenv("STRATA_FORCE_PORTABLE");
        e = (s && *s && strcmp(s, "0") != 0) ? 1 : 0;
        store_flag(&env_force, e);
    }
    return e;
}

void sk_set_force_portable(int force) { store_flag(&forced, force < 0 ? -1 : (force ? 1 : 0)); }

int sk_int8_simd_active(void) { return sk_cpu_has_int8_simd() && !force_portable(); }
int sk_bf16_simd_active(void) { return sk_cpu_has_bf16_simd() && !force_portable(); }
int sk_f32_simd_active(void) { return sk_cpu_has_f32_simd() && !force_portable(); }
