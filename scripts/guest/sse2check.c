/* sse2check.c — float, double and integer vector work with SSE2 (issue 16, acceptance 2).
 *
 * Built with `gcc -m32 -msse2 -mfpmath=sse -O2 -static` by scripts/linux-sse2-test.sh,
 * run natively on the host and inside the Linux guest: both must print the same
 * "SSE2-CHECKSUM" line. Every operation used is exactly rounded IEEE arithmetic (add,
 * mul, div, sqrt, min/max, conversions under round-to-nearest) or integer, so any
 * SSE2-capable CPU gives the same bits. The checksum is FNV-1a over every result byte.
 */
#include <emmintrin.h>
#include <stdint.h>
#include <stdio.h>

static uint32_t h = 2166136261u;

static void mix(const void *p, unsigned n)
{
    const unsigned char *b = p;
    for (unsigned i = 0; i < n; i++) {
        h ^= b[i];
        h *= 16777619u;
    }
}

int main(void)
{
    static float fa[1024];
    static double da[512];
    static int32_t ia[1024];
    for (int i = 0; i < 1024; i++) {
        fa[i] = (float)i * 0.37f - 100.0f;
        ia[i] = (int32_t)((uint32_t)i * 2654435761u);
    }
    for (int i = 0; i < 512; i++)
        da[i] = (double)i / 3.0 - 50.0;

    /* Packed single: multiply-add, sqrt, max, div. */
    __m128 acc = _mm_set1_ps(1.0f);
    for (int i = 0; i < 1024; i += 4) {
        __m128 v = _mm_loadu_ps(fa + i);
        __m128 r = _mm_sqrt_ps(_mm_max_ps(v, _mm_setzero_ps()));
        acc = _mm_add_ps(_mm_mul_ps(acc, _mm_set1_ps(0.999f)), r);
        acc = _mm_div_ps(acc, _mm_set1_ps(1.0001f));
        mix(&acc, 16);
    }
    /* Packed double: the same, with min and sub. */
    __m128d dacc = _mm_set1_pd(2.0);
    for (int i = 0; i < 512; i += 2) {
        __m128d v = _mm_loadu_pd(da + i);
        __m128d r = _mm_sqrt_pd(_mm_mul_pd(v, v));
        dacc = _mm_sub_pd(_mm_add_pd(dacc, r), _mm_min_pd(v, dacc));
        dacc = _mm_div_pd(dacc, _mm_set1_pd(1.5));
        mix(&dacc, 16);
    }
    /* Packed integers: add, multiply, shifts, shuffles, compare, pack, SAD. */
    __m128i iacc = _mm_set1_epi32(0x12345678);
    for (int i = 0; i < 1024; i += 4) {
        __m128i v = _mm_loadu_si128((const __m128i *)(ia + i));
        iacc = _mm_add_epi32(iacc, v);
        iacc = _mm_xor_si128(iacc, _mm_mullo_epi16(iacc, v));
        iacc = _mm_shuffle_epi32(iacc, 0x39);
        iacc = _mm_add_epi64(iacc, _mm_slli_epi64(v, 7));
        __m128i c = _mm_cmpgt_epi16(iacc, v);
        __m128i p = _mm_packs_epi32(iacc, c);
        __m128i s = _mm_sad_epu8(p, v);
        mix(&iacc, 16);
        mix(&s, 16);
    }
    /* Conversions between the three. */
    __m128i q = _mm_cvtps_epi32(acc);
    __m128d e = _mm_cvtepi32_pd(q);
    __m128 f = _mm_cvtpd_ps(_mm_add_pd(e, dacc));
    int32_t t = _mm_cvttsd_si32(dacc);
    mix(&q, 16);
    mix(&e, 16);
    mix(&f, 16);
    mix(&t, 4);
    printf("SSE2-CHECKSUM %08x\n", (unsigned)h);
    return 0;
}
