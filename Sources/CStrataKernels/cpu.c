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

static int cached_int8 = -1, cached_bf16 = -1, env_force = -1, forced = -1;

int sk_cpu_has_int8_simd(void) {
    if (cached_int8 < 0) cached_int8 = detect(0);
    return cached_int8;
}

int sk_cpu_has_bf16_simd(void) {
    if (cached_bf16 < 0) cached_bf16 = detect(1);
    return cached_bf16;
}

static int force_portable(void) {
    if (forced >= 0) return forced;
    if (env_force < 0) {
        const char *e = getenv("STRATA_FORCE_PORTABLE");
        env_force = (e && *e && strcmp(e, "0") != 0) ? 1 : 0;
    }
    return env_force;
}

void sk_set_force_portable(int force) { forced = force < 0 ? -1 : (force ? 1 : 0); }

int sk_int8_simd_active(void) { return sk_cpu_has_int8_simd() && !force_portable(); }
int sk_bf16_simd_active(void) { return sk_cpu_has_bf16_simd() && !force_portable(); }
