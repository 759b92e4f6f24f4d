/* sse2test.c — float, double and integer vector work with SSE and SSE2, folded into
 * one 64-bit checksum (FNV-1a over the raw result bits). Built with
 * `gcc -m32 -msse2 -O2 -static` by guests/sse2/build.sh, run once on the host (an
 * x86-64 CPU runs i386 static binaries) and once in the Linux guest under x86: the
 * two checksums must be equal. Only exactly rounded IEEE operations are used (add,
 * sub, mul, div, sqrt, min/max, conversions, compares) — no libm, whose results may
 * depend on which code path a CPU gets — under all four MXCSR rounding modes and with
 * FTZ/DAZ on and off, so the result is defined by the SDM alone. */
#include <emmintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static uint64_t sum = 0xcbf29ce484222325ULL;

static void fold(const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        sum ^= b[i];
        sum *= 0x100000001b3ULL;
    }
}

#define FOLD(v) do { __typeof__(v) t_ = (v); fold(&t_, sizeof t_); } while (0)

static uint32_t seed = 12345;
static uint32_t rnd(void) {
    seed = seed * 1103515245u + 12345u;
    return seed >> 1;
}

/* Floats across the range: normal, tiny (denormal after an operation), huge. */
static float rnd_float(void) {
    static const float scale[] = {1.0f, 1e-38f, 3e38f, 1e-3f, 1e6f, -2.5f};
    float f = (float)(int32_t)rnd() / 2147483648.0f;
    return f * scale[rnd() % 6];
}

static double rnd_double(void) {
    static const double scale[] = {1.0, 1e-308, 1e308, 1e-3, 1e12, -7.25};
    double d = (double)(int32_t)rnd() / 2147483648.0 + (double)rnd() * 1e-19;
    return d * scale[rnd() % 6];
}

#define N 256
static float fa[N], fb[N], fc[N];
static double da[N], db[N], dc[N];
static int32_t ia[N], ib[N], ic[N];
static int16_t sa[N], sb[N], sc[N];
static uint8_t ba[N], bb[N], bc[N];

static void packed_single(void) {
    for (int i = 0; i < N; i += 4) {
        __m128 a = _mm_loadu_ps(&fa[i]), b = _mm_loadu_ps(&fb[i]);
        __m128 r = _mm_add_ps(_mm_mul_ps(a, b), _mm_sub_ps(a, b));
        r = _mm_div_ps(r, _mm_add_ps(b, _mm_set1_ps(3.0f)));
        r = _mm_max_ps(_mm_min_ps(r, _mm_set1_ps(1e30f)), _mm_set1_ps(-1e30f));
        __m128 s = _mm_sqrt_ps(_mm_andnot_ps(_mm_set1_ps(-0.0f), a));
        __m128 m = _mm_cmplt_ps(a, b);
        __m128i c = _mm_cvtps_epi32(_mm_mul_ps(a, _mm_set1_ps(1e3f)));
        __m128i t = _mm_cvttps_epi32(_mm_mul_ps(b, _mm_set1_ps(77.0f)));
        _mm_storeu_ps(&fc[i], _mm_add_ps(r, s));
        FOLD(r); FOLD(s); FOLD(m); FOLD(c); FOLD(t);
        FOLD(_mm_movemask_ps(m));
        __m128 sh = _mm_shuffle_ps(a, b, _MM_SHUFFLE(1, 3, 0, 2));
        FOLD(_mm_unpacklo_ps(sh, r)); FOLD(_mm_unpackhi_ps(sh, s));
        /* Scalar forms leave the upper elements alone. */
        FOLD(_mm_add_ss(a, b)); FOLD(_mm_div_ss(a, b)); FOLD(_mm_sqrt_ss(s));
        FOLD(_mm_comilt_ss(a, b)); FOLD(_mm_ucomige_ss(a, b));
    }
    /* A loop GCC vectorises itself. */
    for (int i = 0; i < N; i++)
        fc[i] = fa[i] * 0.5f + fb[i] * fc[i];
    fold(fc, sizeof fc);
}

static void packed_double(void) {
    for (int i = 0; i < N; i += 2) {
        __m128d a = _mm_loadu_pd(&da[i]), b = _mm_loadu_pd(&db[i]);
        __m128d r = _mm_add_pd(_mm_mul_pd(a, b), _mm_sub_pd(a, b));
        r = _mm_div_pd(r, _mm_add_pd(b, _mm_set1_pd(5.0)));
        __m128d s = _mm_sqrt_pd(_mm_andnot_pd(_mm_set1_pd(-0.0), a));
        __m128d m = _mm_cmpneq_pd(a, b);
        __m128 f = _mm_cvtpd_ps(r);             /* may overflow to inf or go denormal */
        __m128d back = _mm_cvtps_pd(f);
        __m128i c = _mm_cvtpd_epi32(_mm_mul_pd(a, _mm_set1_pd(1e6)));
        __m128i t = _mm_cvttpd_epi32(b);
        _mm_storeu_pd(&dc[i], _mm_max_pd(r, s));
        FOLD(r); FOLD(s); FOLD(m); FOLD(f); FOLD(back); FOLD(c); FOLD(t);
        FOLD(_mm_movemask_pd(m));
        FOLD(_mm_shuffle_pd(a, b, 1)); FOLD(_mm_unpackhi_pd(a, r));
        FOLD(_mm_min_sd(a, b)); FOLD(_mm_mul_sd(a, b)); FOLD(_mm_comieq_sd(a, b));
        FOLD(_mm_cvtsd_si32(_mm_div_pd(a, _mm_set1_pd(1e-300))));
        FOLD(_mm_cvtsi32_sd(b, ia[i]));
    }
    for (int i = 0; i < N; i++)
        dc[i] = da[i] * 0.25 - db[i] * dc[i];
    fold(dc, sizeof dc);
}

static void packed_integer(void) {
    for (int i = 0; i < N; i += 4) {
        __m128i a = _mm_loadu_si128((const __m128i *)&ia[i]);
        __m128i b = _mm_loadu_si128((const __m128i *)&ib[i]);
        FOLD(_mm_add_epi32(a, b)); FOLD(_mm_sub_epi64(a, b));
        FOLD(_mm_mul_epu32(a, b)); FOLD(_mm_madd_epi16(a, b));
        FOLD(_mm_mulhi_epi16(a, b)); FOLD(_mm_mulhi_epu16(a, b)); FOLD(_mm_mullo_epi16(a, b));
        FOLD(_mm_adds_epi16(a, b)); FOLD(_mm_subs_epu8(a, b)); FOLD(_mm_adds_epu16(a, b));
        FOLD(_mm_avg_epu8(a, b)); FOLD(_mm_sad_epu8(a, b));
        FOLD(_mm_max_epi16(a, b)); FOLD(_mm_min_epu8(a, b));
        FOLD(_mm_cmpgt_epi32(a, b)); FOLD(_mm_cmpeq_epi8(a, b));
        FOLD(_mm_packs_epi32(a, b)); FOLD(_mm_packus_epi16(a, b)); FOLD(_mm_packs_epi16(a, b));
        FOLD(_mm_unpacklo_epi8(a, b)); FOLD(_mm_unpackhi_epi16(a, b));
        FOLD(_mm_unpacklo_epi64(a, b)); FOLD(_mm_unpackhi_epi32(a, b));
        FOLD(_mm_slli_epi16(a, 3)); FOLD(_mm_srai_epi32(b, 7)); FOLD(_mm_srli_epi64(a, 13));
        FOLD(_mm_sll_epi32(a, _mm_cvtsi32_si128(i & 31)));
        FOLD(_mm_slli_si128(a, 5)); FOLD(_mm_srli_si128(b, 11));
        FOLD(_mm_shuffle_epi32(a, 0x1B)); FOLD(_mm_shufflehi_epi16(a, 0x4E));
        FOLD(_mm_shufflelo_epi16(b, 0xB1));
        FOLD(_mm_and_si128(a, b)); FOLD(_mm_xor_si128(a, b)); FOLD(_mm_andnot_si128(a, b));
        FOLD(_mm_movemask_epi8(a)); FOLD(_mm_extract_epi16(b, 5));
        FOLD(_mm_insert_epi16(a, ib[i], 2));
        FOLD(_mm_cvtepi32_ps(a)); FOLD(_mm_cvtepi32_pd(b));
        /* MMX registers too (SSE2's 64-bit integer forms). */
        __m64 x = _mm_cvtsi32_si64(ia[i]), y = _mm_cvtsi32_si64(ib[i]);
        FOLD(_mm_cvtsi64_si32(_mm_add_pi16(x, y)));
        FOLD(_mm_cvtsi64_si32(_mm_mullo_pi16(x, y)));
        FOLD(_mm_cvtsi64_si32(_mm_add_si64(x, y)));
        _mm_empty();
    }
    /* Loops GCC vectorises: 32-, 16- and 8-bit lanes. */
    for (int i = 0; i < N; i++) ic[i] = ia[i] * 3 + (ib[i] >> 2);
    for (int i = 0; i < N; i++) sc[i] = (int16_t)(sa[i] * sb[i] + sc[i]);
    for (int i = 0; i < N; i++) bc[i] = (uint8_t)(ba[i] > bb[i] ? ba[i] - bb[i] : bb[i] - ba[i]);
    fold(ic, sizeof ic); fold(sc, sizeof sc); fold(bc, sizeof bc);
}

int main(void) {
    for (int i = 0; i < N; i++) {
        fa[i] = rnd_float(); fb[i] = rnd_float(); fc[i] = rnd_float();
        da[i] = rnd_double(); db[i] = rnd_double(); dc[i] = rnd_double();
        ia[i] = (int32_t)rnd(); ib[i] = (int32_t)(rnd() << 1);
        sa[i] = (int16_t)rnd(); sb[i] = (int16_t)rnd(); sc[i] = (int16_t)rnd();
        ba[i] = (uint8_t)rnd(); bb[i] = (uint8_t)rnd();
    }
    fa[7] = 0.0f; fb[9] = -0.0f; da[3] = 0.0; /* zeros: x/0, 0/0, sqrt(-0) */
    static const unsigned modes[] = {_MM_ROUND_NEAREST, _MM_ROUND_DOWN, _MM_ROUND_UP,
                                     _MM_ROUND_TOWARD_ZERO};
    for (int ftz = 0; ftz < 2; ftz++) {
        for (int m = 0; m < 4; m++) {
            /* All exceptions masked (the default); rounding, FTZ (bit 15), DAZ (bit 6). */
            _mm_setcsr(0x1F80 | modes[m] | (ftz ? 0x8040 : 0));
            packed_single();
            packed_double();
            packed_integer();
            /* The sticky exception flags the work raised. */
            FOLD(_mm_getcsr() & 0x3F);
            printf("SSE2-PART ftz=%d mode=%d %016llx\n", ftz, m, (unsigned long long)sum);
        }
    }
    _mm_setcsr(0x1F80);
    printf("SSE2-CHECKSUM %016llx\n", (unsigned long long)sum);
    return 0;
}
