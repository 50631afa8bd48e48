/* For tests under Wine only, never shipped: Wine 8 (Debian 12) has no
 * bcryptprimitives.dll, which Windows 10 and 11 have and Rust's standard
 * library imports for ProcessPrng (its random numbers). This stand-in takes
 * them from advapi32's RtlGenRandom (SystemFunction036), which Wine has. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG len);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG n = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!SystemFunction036(data, n)) return FALSE;
        data += n;
        len -= n;
    }
    return TRUE;
}
