// <immintrin.h> for the x86 kernel objects. GCC 12's AVX-512 headers trip
// -Wuninitialized/-Wmaybe-uninitialized on their own _mm512_undefined_* values (GCC bug 105593,
// fixed in GCC 13); the warning is located in the header, so it is silenced around the include.
#pragma once

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
